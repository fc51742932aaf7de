"""Property tests: mcts.TeacherWeights agrees with the Python oracle; floor, cap and anti-stale
bounds hold after any sequence of operations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_weights import ReferenceWeights

import mcts


@st.composite
def weight_configs(draw):
    n = draw(st.integers(1, 6))
    floor = draw(st.sampled_from([0.0, 0.01, 0.5 / n, 1.0 / n]))
    max_weight = draw(st.sampled_from([1.0, 1.0 / n, max(0.6, 1.0 / n), max(floor, 0.9)]))
    return {
        "n": n,
        "ema_rate": draw(st.sampled_from([0.05, 0.3, 1.0])),
        "temperature": draw(st.sampled_from([0.05, 0.25, 2.0])),
        "floor": floor,
        "epsilon": draw(st.sampled_from([0.0, 0.05, 1.0])),
        "max_weight": max(max_weight, floor, 1.0 / n),
        "stale_bonus": draw(st.sampled_from([0.0, 0.5, 3.0])),
        "max_stale_draws": n + draw(st.integers(0, 8)),
        "gamma": draw(st.sampled_from([0.0, 0.9, 1.0])),
        "seed": draw(st.integers(0, 2**64 - 1)),
    }


def make_pair(config):
    n = config["n"]
    kwargs = {k: v for k, v in config.items() if k != "n"}
    return mcts.TeacherWeights(n, **kwargs), ReferenceWeights(**config)


def check_bounds(p, config):
    assert abs(p.sum() - 1.0) < 1e-9
    assert (p >= config["floor"] - 1e-12).all()
    assert (p <= config["max_weight"] + 1e-12).all()


@settings(max_examples=80, deadline=None)
@given(config=weight_configs(), data=st.data())
def test_random_operations_match_the_oracle(config, data):
    weights, ref = make_pair(config)
    n = config["n"]
    outcomes = st.floats(-3.0, 3.0, allow_nan=False)
    last_pick = [-1] * n  # draw index of each teacher's last pick (creation counts as a pick)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        op = data.draw(st.sampled_from(["sample", "update", "credit"]))
        if op == "sample":
            k = data.draw(st.integers(0, 12), label="k")
            before = weights.draws
            picks = weights.sample(k)
            assert picks.tolist() == ref.sample(k)
            for j, pick in enumerate(picks.tolist()):
                last_pick[pick] = before + j
        elif op == "update":
            t, outcome = data.draw(st.integers(0, n - 1), label="t"), data.draw(outcomes, label="outcome")
            weights.update(t, outcome)
            ref.update(t, outcome)
        else:
            path = data.draw(st.lists(st.integers(-1, n - 1), max_size=8), label="path")
            outcome = data.draw(outcomes, label="outcome")
            weights.credit_path(path, outcome)
            ref.credit_path(path, outcome)
        np.testing.assert_array_equal(weights.scores(), ref.scores)
        np.testing.assert_array_equal(weights.probabilities(), ref.probabilities())
        np.testing.assert_array_equal(weights.sampling_probabilities(), ref.sampling_probabilities())
        np.testing.assert_array_equal(weights.draws_since_pick(), ref.since_pick)
        check_bounds(weights.probabilities(), config)
        check_bounds(weights.sampling_probabilities(), config)
        # Anti-stale: no teacher has gone more than stale_bound draws unpicked.
        assert (weights.draws_since_pick() <= weights.stale_bound).all()
    np.testing.assert_array_equal(weights.history(), np.asarray(ref.history))
    assert weights.pick_counts().sum() == weights.draws


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 6), extra=st.integers(0, 10), seed=st.integers(0, 2**32))
def test_anti_stale_bound_holds_against_a_dominant_teacher(n, extra, seed):
    """Teacher 0 takes all the mass it may; every other teacher still returns within the bound."""
    weights = mcts.TeacherWeights(
        n, floor=0.0, max_weight=1.0, epsilon=0.0, stale_bonus=0.0, max_stale_draws=n + extra, seed=seed,
        temperature=0.01,
    )
    for _ in range(20):
        weights.update(0, 1.0)
    picks = weights.sample(40 * (n + extra))
    bound = weights.stale_bound
    assert bound == n + extra + n - 1
    for teacher in range(n):
        where = np.flatnonzero(picks == teacher)
        assert where.size > 0
        gaps = np.diff(np.concatenate([[-1], where, [picks.size]])) - 1
        assert gaps.max() <= bound, (teacher, gaps.max(), bound)
