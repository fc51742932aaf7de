"""mcts.TeacherWeights through its public API: the scheme's promises, seeding, validation,
and a simulated bandit."""

from __future__ import annotations

import numpy as np
import pytest

import mcts


def test_weights_start_uniform_and_history_starts_with_that_row():
    weights = mcts.TeacherWeights(["a", "b", "c", "d"])
    np.testing.assert_allclose(weights.probabilities(), 0.25)
    assert weights.history().shape == (1, 4)
    assert weights.names == ("a", "b", "c", "d") and len(weights) == 4
    assert weights.config == mcts.WeightsConfig(max_weight=0.9)  # the one set of defaults, max_weight resolved for N = 4


def test_success_raises_and_failure_lowers_a_teacher_through_the_ema():
    weights = mcts.TeacherWeights(3, ema_rate=0.5, max_weight=0.8)  # room below the cap for the order
    weights.update("teacher0", 1.0)
    weights.update(1, -1.0)
    np.testing.assert_allclose(weights.scores(), [0.5, -0.5, 0.0])
    p = weights.probabilities()
    assert p[0] > p[2] > p[1]
    assert weights.history().shape == (3, 3)


def test_credit_path_discounts_earlier_steps_and_skips_the_root():
    weights = mcts.TeacherWeights(3, ema_rate=0.5, gamma=0.5)
    weights.credit_path([mcts.NO_TEACHER, 0, 1, 2], 1.0)
    # Leaf (teacher 2) rate 0.5, teacher 1 rate 0.25, teacher 0 rate 0.125.
    np.testing.assert_allclose(weights.scores(), [0.125, 0.25, 0.5])
    weights.credit_path([1, 1], -1.0)  # twice on one path: credited twice, root..leaf order
    # 0.25 -> 0.25 + 0.25 * (-1 - 0.25) = -0.0625 -> -0.0625 + 0.5 * (-1 + 0.0625) = -0.53125
    assert weights.scores()[1] == pytest.approx(-0.53125)


def test_floor_and_cap_hold_however_lopsided_the_scores():
    weights = mcts.TeacherWeights(4, floor=0.05, max_weight=0.7, temperature=0.01, ema_rate=1.0)
    weights.update(0, 100.0)
    for t in (1, 2, 3):
        weights.update(t, -100.0)
    p = weights.probabilities()
    assert p[0] == pytest.approx(0.7) and p.sum() == pytest.approx(1.0)
    assert p.min() >= 0.05 - 1e-12
    assert weights.sampling_probabilities().min() >= 0.05 - 1e-12


def test_same_seed_same_picks_and_sampling_consumes_the_rng():
    a, b = mcts.TeacherWeights(5, seed=7), mcts.TeacherWeights(5, seed=7)
    first = a.sample(30)
    assert first.tolist() == b.sample(30).tolist()
    assert a.sample(30).tolist() != first.tolist()  # the generator moved on
    assert mcts.TeacherWeights(5, seed=8).sample(30).tolist() != first.tolist()
    assert a.draws == 60 and a.pick_counts().sum() == 60


def test_a_starved_teacher_is_forced_back_within_the_bound():
    weights = mcts.TeacherWeights(3, floor=0.0, max_weight=1.0, epsilon=0.0, stale_bonus=0.0,
                                  max_stale_draws=5, temperature=0.01)
    weights.update(0, 10.0)
    picks = weights.sample(70).tolist()
    assert weights.stale_bound == 5 + 3 - 1
    for teacher in (1, 2):
        where = [i for i, p in enumerate(picks) if p == teacher]
        assert where and max(np.diff([-1, *where, len(picks)]) - 1) <= weights.stale_bound


def test_the_stale_bonus_favours_teachers_not_picked_lately():
    weights = mcts.TeacherWeights(2, epsilon=0.0, stale_bonus=2.0, max_stale_draws=1000, seed=3)
    weights.sample(1)
    fresh = int(np.argmin(weights.draws_since_pick()))
    p = weights.sampling_probabilities()
    assert p[1 - fresh] > p[fresh]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"teachers": 0}, "at least one"),
        ({"teachers": ["a", "a"]}, "twice"),
        ({"teachers": ["a", ""]}, "empty"),
        ({"teachers": 4, "floor": 0.3}, "floor"),
        ({"teachers": 4, "max_weight": 0.2}, "max_weight"),
        ({"teachers": 4, "floor": 0.2, "max_weight": 0.25 - 1e-3}, "max_weight"),
        ({"teachers": 4, "ema_rate": 0.0}, "ema_rate"),
        ({"teachers": 4, "temperature": 0.0}, "temperature"),
        ({"teachers": 4, "epsilon": 1.5}, "epsilon"),
        ({"teachers": 4, "gamma": -0.1}, "gamma"),
        ({"teachers": 4, "stale_bonus": float("inf")}, "stale_bonus"),
        ({"teachers": 4, "max_stale_draws": 3}, "max_stale_draws"),
        ({"teachers": 4, "seed": -1}, "seed"),
        ({"teachers": 4, "context_prior": -1.0}, "context_prior"),
        ({"teachers": 4, "max_contexts": 0}, "max_contexts"),
        ({"teachers": 4, "context": "width"}, "weights.context must be one of 'none', 'depth', 'task'"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mcts.TeacherWeights(**kwargs)


def test_bad_calls_are_named():
    weights = mcts.TeacherWeights(["a", "b"])
    with pytest.raises(IndexError, match="teacher id 2"):
        weights.update(2, 1.0)
    with pytest.raises(KeyError, match="no teacher named 'z'"):
        weights.update("z", 1.0)
    with pytest.raises(ValueError, match="outcome must be finite"):
        weights.update(0, float("nan"))
    with pytest.raises(IndexError, match="teacher id 5"):
        weights.credit_path([0, 5], 1.0)
    with pytest.raises(ValueError, match="k must be"):
        weights.sample(-1)
    with pytest.raises(IndexError, match=r"context id 16 is not in 0..15 \(max_contexts = 16\)"):
        weights.update(0, 1.0, context=16)
    with pytest.raises(IndexError, match="context id -2"):
        weights.credit_path([0, 1], 1.0, contexts=[0, -2])
    with pytest.raises(ValueError, match="3 contexts for 2 steps"):
        weights.credit_path([0, 1], 1.0, contexts=[0, 1, 2])
    with pytest.raises(IndexError, match="context id 99"):
        weights.sample_per_context([0, 99])
    with pytest.raises(TypeError, match="a context id is an int"):
        weights.sample(1, context="deep")
    assert weights.history().shape == (1, 2)  # nothing was recorded by the failed calls
    assert weights.num_contexts == 0 and weights.draws == 0


def test_a_step_credited_in_a_context_moves_it_and_the_global_scores():
    weights = mcts.TeacherWeights(2, ema_rate=0.5, gamma=0.5, context_prior=2.0)
    weights.credit_path([mcts.NO_TEACHER, 0, 1], 1.0, contexts=[-1, 0, 1])
    np.testing.assert_allclose(weights.scores(), [0.25, 0.5])
    np.testing.assert_allclose(weights.scores(0), [0.25, 0.0])
    np.testing.assert_allclose(weights.scores(1), [0.0, 0.5])
    assert weights.evidence(0) == weights.evidence(1) == 1
    assert weights.context_weight(0) == pytest.approx(1 / 3)  # n / (n + k) = 1 / (1 + 2)
    # Each touched context recorded a row, dated by the global row of the same credit.
    assert weights.history(0).shape == (1, 2) and weights.history_rows(1).tolist() == [1]
    # A context nothing was credited in is the global weights.
    np.testing.assert_array_equal(weights.probabilities(5), weights.probabilities())


def test_draws_in_a_context_keep_its_own_anti_stale_counters():
    weights = mcts.TeacherWeights(3, seed=4)
    picks = weights.sample(6, context=2)
    assert weights.pick_counts(2).tolist() == np.bincount(picks, minlength=3).tolist()
    assert weights.pick_counts().tolist() == weights.pick_counts(2).tolist()  # a context draw is a global draw too
    assert weights.pick_counts(0).sum() == 0 and weights.num_contexts == 3
    rows = weights.sample_per_context([0, mcts.weights.NO_CONTEXT, 2], 2)
    assert rows.shape == (3, 2) and weights.draws == 12 and weights.pick_counts(2).sum() == 8


def run_contextual_bandit(seed: int, credits: int = 600) -> mcts.TeacherWeights:
    """Two contexts; "early" succeeds 80 % in context 0 and 20 % in context 1, "late" the reverse:
    globally they are equal."""
    weights = mcts.TeacherWeights(["early", "late"], ema_rate=0.05, temperature=0.25, floor=0.05, seed=seed)
    success = [[0.8, 0.2], [0.2, 0.8]]  # [context][teacher]
    rng = np.random.default_rng(seed)
    for step in range(credits):
        context = step % 2
        (teacher,) = weights.sample(1, context=context)
        weights.update(int(teacher), 1.0 if rng.random() < success[context][teacher] else -1.0, context=context)
    return weights


def test_simulated_contextual_bandit_learns_who_is_good_where():
    for seed in range(5):
        weights = run_contextual_bandit(seed)
        early, late = weights.probabilities(0), weights.probabilities(1)
        assert early[0] > 0.7 and late[1] > 0.7, (seed, early, late)
        # Drawing from the global weights wins 50 % here whatever they are; per context, more.
        assert 0.5 * (0.8 * early[0] + 0.2 * early[1]) + 0.5 * (0.2 * late[0] + 0.8 * late[1]) > 0.65
        assert weights.history(0).min() >= 0.05 - 1e-12  # the floor holds in a context too


SUCCESS = [0.8, 0.5, 0.2, 0.0]


def run_bandit(seed: int, credits: int = 400) -> tuple[mcts.TeacherWeights, np.ndarray]:
    """Each credit: draw a teacher, its proposal succeeds with SUCCESS[teacher], credit +1 / -1."""
    # Outcomes are +-1 here, so the temperature is on that scale (the search credits 0..1).
    weights = mcts.TeacherWeights(["p80", "p50", "p20", "p00"], ema_rate=0.05, temperature=0.25, floor=0.025, seed=seed)
    rng = np.random.default_rng(seed)
    late_scores = np.zeros(4)
    for step in range(credits):
        (teacher,) = weights.sample(1)
        weights.update(int(teacher), 1.0 if rng.random() < SUCCESS[teacher] else -1.0)
        if step >= credits - 100:
            # what the softmax reads (warm-up): the bias-corrected scores; the raw EMA of a teacher
            # the floor lets draw a few times is still shrunk toward its start at 0
            late_scores += weights.scores() / (1.0 - weights.unseen())
    return weights, late_scores / 100


def test_simulated_bandit_ranks_teachers_and_keeps_the_worst_at_the_floor():
    perfect = 0
    for seed in range(10):
        weights, late_scores = run_bandit(seed)
        history = weights.history()
        floor = weights.config.floor
        assert history.min() >= floor - 1e-12  # the worst teacher never drops below the floor
        assert history[:, 3].min() == pytest.approx(floor)  # ... and it does sink to it
        assert int(np.argmax(late_scores)) == 0 and int(np.argmin(late_scores)) == 3
        assert history[-100:, 0].mean() > 0.5  # the best teacher carries most of the mass
        assert weights.pick_counts().min() > 0
        perfect += bool((np.diff(late_scores) < 0).all())
    # 0.2 vs 0.0 is decided from the few draws the floor allows; nearly every run gets it right.
    assert perfect >= 9


def test_warm_up_reads_a_teacher_credited_once_as_its_outcome_not_a_fraction_of_it():
    settings = dict(ema_rate=0.005, temperature=0.05, floor=0.0, max_weight=1.0)
    warm, raw = mcts.TeacherWeights(2, **settings), mcts.TeacherWeights(2, warmup=False, **settings)
    for weights in (warm, raw):
        weights.update(0, 0.6)
        weights.update(1, 0.2)
    # bias-corrected: 0.6 vs 0.2 at temperature 0.05 is e**8 to 1; the raw EMA reads 0.003 vs 0.001
    assert warm.probabilities()[0] > 0.999
    assert 0.5 < raw.probabilities()[0] < 0.6
    np.testing.assert_array_equal(warm.scores(), raw.scores())  # the EMA itself is the same
    np.testing.assert_allclose(warm.unseen(), [0.995, 0.995])


def test_warm_up_reads_a_teacher_untried_in_a_context_as_its_global_estimate():
    weights = mcts.TeacherWeights(["a", "b", "c"], ema_rate=0.005, temperature=0.05, floor=0.0, max_weight=1.0,
                                  context_prior=0.0)
    weights.update("a", 0.9, context=0)  # a: tried in context 0
    weights.update("b", 0.9, context=1)  # b: good, but only tried in context 1
    weights.update("a", 0.1, context=1)
    p = weights.probabilities(0)
    # in context 0, b reads its global 0.9 (as good as a there); c, never credited, the mean of a and b
    assert p[0] == pytest.approx(p[1]) and p[2] < p[0]
    assert weights.unseen(0).tolist() == [0.995, 1.0, 1.0]
