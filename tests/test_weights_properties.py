"""Property tests: mcts.TeacherWeights agrees with the Python oracle; floor, cap and anti-stale
bounds hold after any sequence of operations, in the global weights and in every context."""

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
        "context_prior": draw(st.sampled_from([0.0, 1.0, 10.0])),
        "max_contexts": draw(st.integers(1, 3)),
        "warmup": draw(st.booleans()),
    }


def make_pair(config):
    n = config["n"]
    kwargs = {k: v for k, v in config.items() if k != "n"}
    return mcts.TeacherWeights(n, **kwargs), ReferenceWeights(**config)


def check_bounds(p, config):
    assert abs(p.sum() - 1.0) < 1e-9
    assert (p >= config["floor"] - 1e-12).all()
    assert (p <= config["max_weight"] + 1e-12).all()


def check_state(weights, ref, config):
    np.testing.assert_array_equal(weights.scores(), ref.scores)
    np.testing.assert_array_equal(weights.unseen(), ref.unseen)
    np.testing.assert_array_equal(weights.draws_since_pick(), ref.since_pick)
    # Anti-stale, in each context: no teacher has gone more than stale_bound of that context's draws
    # unpicked (the global bound holds while every draw is global: checked by the caller).
    for c in [None, *range(config["max_contexts"])]:
        ref_c = -1 if c is None else c
        np.testing.assert_array_equal(weights.probabilities(c), ref.probabilities(ref_c))
        np.testing.assert_array_equal(weights.sampling_probabilities(c), ref.sampling_probabilities(ref_c))
        check_bounds(weights.probabilities(c), config)
        check_bounds(weights.sampling_probabilities(c), config)
        assert weights.context_weight(c) == ref.context_weight(ref_c)
        if c is not None:
            assert (weights.draws_since_pick(c) <= weights.stale_bound).all()
            if c < len(ref.contexts):
                np.testing.assert_array_equal(weights.scores(c), ref.contexts[c].scores)
                np.testing.assert_array_equal(weights.draws_since_pick(c), ref.contexts[c].since_pick)
                assert weights.evidence(c) == ref.contexts[c].evidence


@settings(max_examples=80, deadline=None)
@given(config=weight_configs(), data=st.data())
def test_random_operations_match_the_oracle(config, data):
    """Draws, updates and path credits, each in the global weights or a context (-1 = global)."""
    weights, ref = make_pair(config)
    n, m = config["n"], config["max_contexts"]
    outcomes = st.floats(-3.0, 3.0, allow_nan=False)
    contexts = st.integers(-1, m - 1)
    global_only = data.draw(st.booleans(), label="global only")  # today's calls, no context anywhere
    if global_only:
        contexts = st.just(-1)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        op = data.draw(st.sampled_from(["sample", "sample_per_context", "update", "credit"]))
        if op == "sample":
            k, c = data.draw(st.integers(0, 12), label="k"), data.draw(contexts, label="context")
            picks = weights.sample(k) if c == -1 else weights.sample(k, context=c)
            assert picks.tolist() == ref.sample(k, c)
        elif op == "sample_per_context":
            where = data.draw(st.lists(contexts, max_size=6), label="contexts")
            k = data.draw(st.integers(0, 3), label="k")
            picks = weights.sample_per_context(where, k)
            assert picks.shape == (len(where), k)
            assert picks.tolist() == [ref.sample(k, c) for c in where]
        elif op == "update":
            t, outcome = data.draw(st.integers(0, n - 1), label="t"), data.draw(outcomes, label="outcome")
            c = data.draw(contexts, label="context")
            weights.update(t, outcome, None if c == -1 else c)
            ref.update(t, outcome, c)
        else:
            path = data.draw(st.lists(st.integers(-1, n - 1), max_size=8), label="path")
            where = data.draw(st.lists(contexts, min_size=len(path), max_size=len(path)), label="contexts")
            outcome = data.draw(outcomes, label="outcome")
            if global_only:
                weights.credit_path(path, outcome)
                ref.credit_path(path, outcome)
            else:
                weights.credit_path(path, outcome, where)
                ref.credit_path(path, outcome, where)
        check_state(weights, ref, config)
        if global_only:
            assert (weights.draws_since_pick() <= weights.stale_bound).all()
    np.testing.assert_array_equal(weights.history(), np.asarray(ref.history))
    assert weights.pick_counts().sum() == weights.draws
    assert weights.num_contexts == len(ref.contexts)
    for c, ref_c in enumerate(ref.contexts):
        np.testing.assert_array_equal(weights.history(c), np.asarray(ref_c.history).reshape(-1, n))
        np.testing.assert_array_equal(weights.history_rows(c), ref_c.history_at)
        assert weights.pick_counts(c).sum() == ref_c.draws


@settings(max_examples=40, deadline=None)
@given(config=weight_configs(), data=st.data())
def test_a_context_backs_off_to_the_global_weights(config, data):
    """No evidence: exactly the global probabilities. Evidence n: weight n / (n + k) on its own scores,
    growing with n; a huge prior keeps it at the global weights."""
    weights, _ = make_pair(config)
    n = config["n"]
    for _ in range(data.draw(st.integers(0, 5), label="global credits")):
        weights.update(data.draw(st.integers(0, n - 1)), data.draw(st.floats(0.0, 1.0)))
    np.testing.assert_array_equal(weights.probabilities(0), weights.probabilities())
    lambdas = []
    for step in range(1, 6):
        weights.credit_path([data.draw(st.integers(0, n - 1))], 1.0, contexts=[0])
        assert weights.evidence(0) == step
        k = config["context_prior"]
        assert weights.context_weight(0) == step / (step + k)
        lambdas.append(weights.context_weight(0))
    assert lambdas == sorted(lambdas)
    far = mcts.TeacherWeights(n, **{**{k: v for k, v in config.items() if k != "n"}, "context_prior": 1e12})
    for t in range(n):
        far.update(t, float(t), context=0)
    np.testing.assert_allclose(far.probabilities(0), far.probabilities(), atol=1e-9)


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
