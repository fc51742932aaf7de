"""The search reads each leaf's context when it picks teachers and credits each step in the
context it was drawn in (``weights.context``), with deterministic stand-in teachers."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from countdown_fakes import OracleTeacher

import mcts
from mcts import WeightsConfig
from mcts.search import Budget, Searcher, SearchConfig
from mcts.search.context import StepContexts
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask


class StageTeacher(OracleTeacher):
    """Proposes winning steps only while ``good_at(numbers still available)``; random legal steps otherwise."""

    def __init__(self, name: str, good_at):
        super().__init__(name, 1.0)
        self.good_at = good_at

    def next_step(self, available: tuple[int, ...], target: int, rng: random.Random) -> str:
        self.skill = 1.0 if self.good_at(len(available)) else 0.0
        return super().next_step(available, target, rng)


def stage_teachers():
    # "opener" keeps the target reachable on the first step only; "closer" only after it.
    return [StageTeacher("opener", lambda left: left == 4), StageTeacher("closer", lambda left: left < 4)]


def search_all(context: str, tasks: int = 8) -> Searcher:
    cfg = SearchConfig(
        budget=Budget(simulations=24), stop_on_solve=False, weights=WeightsConfig(context=context), seed=5
    )
    searcher = Searcher(stage_teachers(), cfg)
    for puzzle in generate_puzzles(tasks, seed=21):
        searcher.search(CountdownTask(puzzle))
    return searcher


def test_depth_contexts_learn_who_is_good_where():
    weights = search_all("depth").weights
    assert weights.num_contexts >= 3 and min(weights.evidence(c) for c in range(3)) > 0
    first, last = weights.probabilities(0), weights.probabilities(2)
    assert first[0] > first[1], first  # the opener leads the first step
    assert last[1] > last[0], last  # the closer leads the last one
    assert weights.pick_counts(0).sum() > 0 and weights.pick_counts().sum() == weights.draws


def test_task_contexts_are_the_numbers_left():
    weights = search_all("task", tasks=4).weights
    # Game of 24 starts with 4 numbers: the first step is drawn in context 4, the last in context 2.
    assert weights.pick_counts(4).sum() > 0 and weights.pick_counts(2).sum() > 0
    assert weights.pick_counts(0).sum() == weights.pick_counts(1).sum() == 0
    assert weights.probabilities(4)[0] > weights.probabilities(4)[1]


def test_without_contexts_only_the_global_weights_move():
    weights = search_all("none", tasks=2).weights
    assert weights.num_contexts == 0 and weights.draws > 0 and len(weights.history()) > 1


def test_a_task_without_a_context_is_refused_for_task_contexts():
    class Plain(CountdownTask):
        context = None

    cfg = SearchConfig(budget=Budget(simulations=4), weights=WeightsConfig(context="task"))
    with pytest.raises(ValueError, match="defines no context"):
        Searcher(stage_teachers(), cfg).search(Plain(generate_puzzles(1, seed=2)[0]))


def test_a_task_context_out_of_range_is_named():
    class Wild(CountdownTask):
        def context(self, steps):
            return 99

    cfg = SearchConfig(budget=Budget(simulations=4), weights=WeightsConfig(context="task"))
    with pytest.raises(ValueError, match=r"returned 99, not an int in 0..15; raise weights.max_contexts"):
        Searcher(stage_teachers(), cfg).search(Wild(generate_puzzles(1, seed=2)[0]))


def test_depth_contexts_share_the_last_one_beyond_max_contexts():
    cfg = dataclasses.replace(
        SearchConfig(budget=Budget(simulations=12), stop_on_solve=False), weights=WeightsConfig(context="depth", max_contexts=2)
    )
    searcher = Searcher(stage_teachers(), cfg)
    searcher.search(CountdownTask(generate_puzzles(1, seed=4)[0]))
    weights = searcher.weights
    assert weights.num_contexts == 2 and weights.evidence(1) > 0
    np.testing.assert_array_equal(weights.pick_counts(0) + weights.pick_counts(1), weights.pick_counts())
    contexts = StepContexts("depth", CountdownTask(generate_puzzles(1, seed=4)[0]), 2)
    assert [contexts.at(["s\n"] * depth) for depth in range(4)] == [0, 1, 1, 1]
    assert contexts.of_path(["s\n"], ["a\n", "b\n"]) == [1, 1]


def test_a_step_is_credited_in_the_context_of_the_node_it_was_drawn_at():
    task = CountdownTask(generate_puzzles(1, seed=4)[0])
    a, b = task.puzzle.numbers[:2]
    first = f"{a}+{b}={a + b} (left: {' '.join(map(str, (*task.puzzle.numbers[2:], a + b)))})\n"
    by_task = StepContexts("task", task, 16)
    assert by_task.at([]) == 4 and by_task.at([first]) == 3
    assert by_task.of_path([], [first, "garbage\n"]) == [4, 3]
    assert StepContexts("depth", task, 16).of_path([first], ["x\n", "y\n"]) == [1, 2]


def test_a_resumed_search_goes_on_in_every_context_as_if_never_stopped(tmp_path):
    cfg = SearchConfig(budget=Budget(simulations=24), stop_on_solve=False, weights=WeightsConfig(context="depth"), seed=5)
    first, *rest = [CountdownTask(p) for p in generate_puzzles(3, seed=8)]
    searcher = Searcher(stage_teachers(), cfg)
    tree = searcher.search(first).tree
    _, saved = mcts.load_tree(mcts.save_tree(tmp_path / "first.tree", tree, searcher.weights))
    resumed = Searcher(stage_teachers(), cfg, weights=saved)
    for task in rest:
        a, b = searcher.search(task), resumed.search(task)
        assert [t.to_json() for t in a.trajectories] == [t.to_json() for t in b.trajectories]
    assert saved.num_contexts == searcher.weights.num_contexts >= 3
    for context in range(saved.num_contexts):
        np.testing.assert_array_equal(saved.probabilities(context), searcher.weights.probabilities(context))
        np.testing.assert_array_equal(saved.history(context), searcher.weights.history(context))


def test_credits_recorded_in_contexts_replay_to_the_same_weights():
    """The --ray merge replays a worker's credits onto the run's weights: contexts included."""
    from mcts.run.weights_merge import RecordingWeights, replay, weights_to_bytes

    start = mcts.TeacherWeights(["a", "b"], seed=2)
    worker = RecordingWeights.from_bytes(weights_to_bytes(start))
    worker.credit_path([0, 1], 1.0, contexts=[0, 1])
    worker.update("b", 0.5, context=2)
    worker.credit_path([1], 0.0)
    assert [kind for kind, _, _ in worker.credits] == ["path_in", "update_in", "path"]
    replay(start, worker.credits)
    assert start.num_contexts == worker.num_contexts == 3
    for context in [None, 0, 1, 2]:
        np.testing.assert_array_equal(start.scores(context), worker.scores(context))
        np.testing.assert_array_equal(start.history(context), worker.history(context))


def test_a_benched_teacher_is_replaced_by_the_leading_one_of_the_leaf_context():
    from countdown_fakes import BrokenTeacher

    from mcts.search.pick import pick_teachers

    def trained():
        weights = mcts.TeacherWeights(["down", "a", "b"], seed=1)
        for _ in range(20):  # each tried in both contexts (an untried one reads its global estimate)
            weights.update("a", 1.0, context=0)
            weights.update("b", 1.0, context=1)
            weights.update("a", 0.0, context=1)
            weights.update("b", 0.0, context=0)
        return weights

    contexts = [0, 1, 0, 1]
    raw = trained().sample_per_context(contexts, 6)
    picks = pick_teachers(trained(), 4, 6, {0}, contexts)
    assert (raw == 0).any() and 0 not in picks
    fallback = np.asarray([[1], [2], [1], [2]])  # "a" leads depth 0, "b" depth 1
    np.testing.assert_array_equal(picks, np.where(raw == 0, fallback, raw))
    teachers = [BrokenTeacher("down", 1.0), *stage_teachers()]
    cfg = SearchConfig(budget=Budget(simulations=16), weights=WeightsConfig(context="depth"))
    result = Searcher(teachers, cfg).search(CountdownTask(generate_puzzles(1, seed=3)[0]))
    assert "down" not in result.calls_per_teacher and result.simulations > 0


def test_a_context_rollout_writes_each_step_with_the_leader_of_its_context():
    from mcts.search import EvaluationConfig

    weights = WeightsConfig(context="depth", context_prior=0.0, floor=0.0, epsilon=0.0, max_weight=1.0).build(["a", "b"])
    for _ in range(200):  # a leads after one step, b after two and three
        weights.update(0, 1.0, 1)
        weights.update(1, 0.0, 1)
        for context in (2, 3):
            weights.update(1, 1.0, context)
            weights.update(0, 0.0, context)
    teachers = [OracleTeacher("a", 1.0), OracleTeacher("b", 1.0)]
    config = SearchConfig(budget=Budget(simulations=1), stop_on_solve=False, weights=WeightsConfig(context="depth", context_prior=0.0),
                          evaluation=EvaluationConfig(rollout_teacher="context"))
    task = CountdownTask(generate_puzzles(1, seed=3)[0])
    evidence = [weights.evidence(c) for c in range(4)]
    result = Searcher(teachers, config, weights=weights).search(task)
    tree = result.tree
    rollout = [n for n in range(1, len(tree)) if tree.notes.many([n])[0].from_rollout]
    depths = [len(tree.path(n)) - 1 for n in rollout]
    assert sorted(depths) == [2, 3]  # the chosen child is step 1; the rollout wrote steps 2 and 3
    writers = {d: int(tree.nodes([n]).teacher[0]) for n, d in zip(rollout, depths)}
    assert writers == {2: 0, 3: 1}  # step 2 in context 1 (a leads), step 3 in context 2 (b leads)
    # the rollout's last step ended the path: its writer is credited with the outcome in its context at
    # once; the unjudged step before it has no signal (no judge) and is not credited
    gained = [weights.evidence(c) - e for c, e in enumerate(evidence)]
    assert gained[1] == 0 and gained[2] == 1, gained
    # one call per step, each to its own teacher, each with the step delimiter as its stop
    rollout_asks = [r for t in teachers for r in t.requests if r.prompt.count("\n") >= 3]
    assert rollout_asks and all(r.stop == ("\n",) and r.n == 1 for r in rollout_asks)
