"""The search loop end to end on countdown puzzles, with deterministic stand-in teachers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from countdown_fakes import BrokenTeacher, OracleTeacher

from mcts import WeightsConfig
from mcts.search import Budget, ExpansionConfig, Searcher, SearchConfig
from mcts.tasks.countdown import verify
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from mcts.types import Proposal


def puzzles(n=4, seed=3):
    return [CountdownTask(p) for p in generate_puzzles(n, seed=seed)]


def config(**budget) -> SearchConfig:
    return SearchConfig(budget=Budget(**(budget or {"simulations": 40})))


def run_one(task, teachers, cfg, weights=None):
    searcher = Searcher(teachers, cfg, weights=weights)
    return searcher, searcher.search(task)


def test_a_perfect_teacher_solves_and_the_best_path_verifies():
    task = puzzles(1)[0]
    state, result = run_one(task, [OracleTeacher("oracle", 1.0)], config())
    assert result.solved
    text = "".join(step.text for step in result.best.steps)
    assert verify(task.puzzle, text).solved
    assert any(t.solved for t in result.trajectories)
    assert all(t.task_id == task.id for t in result.trajectories)


def test_generated_tokens_are_counted_exactly():
    teacher = OracleTeacher("oracle", 0.5)
    task = puzzles(1, seed=9)[0]
    cfg = dataclasses.replace(config(simulations=12), stop_on_solve=False)
    state, result = run_one(task, [teacher], cfg)
    # the fake's token count is the text length of each proposal it returned
    expected = 0
    for request, replies in zip(teacher.requests, teacher.generate(teacher.requests[:])):
        expected += sum(p.num_tokens for p in replies)
    assert result.generated_tokens == expected
    assert result.calls_per_teacher["oracle"] == len(teacher.requests) // 2


def test_token_budget_stops_the_search():
    cfg = dataclasses.replace(config(tokens=60), stop_on_solve=False)
    state, result = run_one(puzzles(1)[0], [OracleTeacher("oracle", 0.3)], cfg)
    # one iteration may overshoot by at most what it generated
    assert 60 <= result.generated_tokens < 60 + 400


def test_virtual_loss_is_released_after_every_iteration():
    _, result = run_one(puzzles(1, seed=5)[0], [OracleTeacher("a", 0.5), OracleTeacher("b", 0.5)], config(simulations=30))
    assert result.tree.node(0).in_flight == 0
    assert result.tree.node(0).visits == result.simulations


def test_dynamic_weights_learn_the_better_teacher_across_tasks():
    teachers = [OracleTeacher("good", 0.95), OracleTeacher("bad", 0.0)]
    cfg = SearchConfig(budget=Budget(simulations=24), stop_on_solve=False)
    weights = cfg.weights.build([t.name for t in teachers])
    for task in puzzles(6, seed=11):
        run_one(task, teachers, cfg, weights)
    p = weights.probabilities()
    assert p[0] > p[1]
    assert p[1] >= cfg.weights.floor - 1e-9


def test_static_weights_stay_uniform():
    teachers = [OracleTeacher("good", 0.95), OracleTeacher("bad", 0.0)]
    cfg = SearchConfig(budget=Budget(simulations=24), weights=WeightsConfig(dynamic=False))
    searcher, _ = run_one(puzzles(1)[0], teachers, cfg)
    np.testing.assert_allclose(searcher.weights.probabilities(), [0.5, 0.5])


def test_a_failing_teacher_is_benched_and_the_search_goes_on(caplog):
    teachers = [BrokenTeacher("down", 1.0), OracleTeacher("up", 1.0)]
    both_asked = dataclasses.replace(config(), expansion=ExpansionConfig(teachers_per_leaf=2))
    _, result = run_one(puzzles(1)[0], teachers, both_asked)
    assert "down" not in result.calls_per_teacher
    assert result.solved
    assert "benched" in caplog.text


class Scripted(OracleTeacher):
    """Proposes ``first`` (log-probability ``logprob`` per token) at the root, the oracle's steps below."""

    def __init__(self, name, first, logprob):
        super().__init__(name, 1.0)
        self.first, self.logprob = first, logprob

    def complete(self, request, rng):
        if request.prompt.count("\n") == 2 and request.stop:
            ids = tuple(range(len(self.first)))
            return Proposal(self.first, ids, self.logprob * len(ids), (self.logprob,) * len(ids), "stop", self.name)
        return super().complete(request, rng)


def test_identical_proposals_merge_and_keep_every_teacher():
    task = puzzles(1, seed=3)[0]
    a, b = task.puzzle.numbers[:2]
    step = f"{a}+{b}={a + b} (left: {' '.join(map(str, (*task.puzzle.numbers[2:], a + b)))})"
    teachers = [Scripted("a", step, -0.1), Scripted("b", " " + step + " ", -0.3)]
    cfg = dataclasses.replace(config(simulations=4), expansion=ExpansionConfig(teachers_per_leaf=2, batch_leaves=1))
    _, result = run_one(task, teachers, cfg)
    kids = result.tree.children(0)
    assert len(kids.ids) == 1 and result.tree.action(int(kids.ids[0])).strip() == step
    assert result.tree.notes.get(int(kids.ids[0])).teachers == ("a", "b")
    assert kids.prior[0] == pytest.approx(1.0)


def test_same_seed_same_search():
    def run():
        _, result = run_one(puzzles(1, seed=21)[0], [OracleTeacher("a", 0.6), OracleTeacher("b", 0.3)], config(simulations=20))
        return [("".join(s.text for s in t.steps), t.final_reward) for t in result.trajectories]

    assert run() == run()


def test_expansion_config_rejects_nonsense():
    with pytest.raises(ValueError, match="batch_leaves"):
        ExpansionConfig(batch_leaves=0)
    with pytest.raises(ValueError, match="at least one"):
        Budget(simulations=None)


def test_values_are_backed_up_through_the_evaluated_child():
    _, result = run_one(puzzles(1, seed=5)[0], [OracleTeacher("a", 0.5)], dataclasses.replace(config(simulations=12), stop_on_solve=False))
    root, kids = result.tree.node(0), result.tree.children(0)
    assert root.visits >= 12 and int(kids.visits.sum()) == root.visits  # every simulation went through a child


