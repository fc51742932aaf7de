"""The merge behind `--ray` (mcts/run/weights_merge.py) and teacher replicas (mcts/run/replicas.py), without Ray."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mcts.run.replicas import ReplicaTeacher, group_teacher_specs
from mcts.run.weights_merge import RecordingWeights, WeightsMerger, replay, weights_from_bytes, weights_to_bytes
from mcts.weights import TeacherWeights

NAMES = ["a", "b", "c"]


def search_on(snapshot: bytes, credits: list[tuple[list[int], float]], draws: int) -> RecordingWeights:
    """What a worker does to its snapshot: draws teachers and credits paths."""
    weights = RecordingWeights.from_bytes(snapshot)
    weights.sample(draws)
    for path, outcome in credits:
        weights.credit_path(path, outcome)
    weights.update("c", 0.25)
    return weights


TASKS = [([[0, 1], 1.0], [[2], 0.0]), ([[1, 1, 0], 1.0],), ([[2, 0], 0.5], [[0], 1.0])]


def test_snapshot_round_trip_keeps_the_whole_state():
    weights = TeacherWeights(NAMES, seed=11)
    weights.sample(5)
    weights.credit_path([0, 2], 1.0)
    copy = weights_from_bytes(weights_to_bytes(weights))
    assert list(copy.names) == NAMES
    np.testing.assert_array_equal(copy.scores(), weights.scores())
    np.testing.assert_array_equal(copy.draws_since_pick(), weights.draws_since_pick())
    np.testing.assert_array_equal(copy.sample(20), weights.sample(20))  # the random state too


def test_recorded_credits_replay_to_the_same_scores():
    start = TeacherWeights(NAMES, seed=1)
    searched = search_on(weights_to_bytes(start), [([0, 1, 2], 1.0), ([1], 0.0)], draws=4)
    assert [kind for kind, _, _ in searched.credits] == ["path", "path", "update"]
    replay(start, searched.credits)
    np.testing.assert_array_equal(start.scores(), searched.scores())


def test_one_lane_is_the_sequential_run():
    sequential = TeacherWeights(NAMES, seed=3)
    merger = WeightsMerger(TeacherWeights(NAMES, seed=3))
    for i, credits in enumerate(TASKS):
        sequential.sample(3)
        for path, outcome in credits:
            sequential.credit_path(path, outcome)
        sequential.update("c", 0.25)
        since, snapshot = merger.snapshot()
        final = search_on(snapshot, list(credits), draws=3)
        merger.commit(i, since, final, final.credits)
    np.testing.assert_array_equal(merger.weights.scores(), sequential.scores())
    np.testing.assert_array_equal(merger.weights.sample(10), sequential.sample(10))


def test_two_lanes_count_every_credit_once_with_the_missed_ones_replayed_after():
    # Two workers: tasks 0 and 1 start together; task 2 starts when task 0 commits.
    merger = WeightsMerger(TeacherWeights(NAMES, seed=3))
    since0, snap0 = merger.snapshot()
    since1, snap1 = merger.snapshot()
    final0 = search_on(snap0, list(TASKS[0]), draws=2)
    final1 = search_on(snap1, list(TASKS[1]), draws=7)
    credits0, credits1 = list(final0.credits), list(final1.credits)
    with pytest.raises(ValueError, match="commit in order"):
        merger.commit(1, since1, final1, final1.credits)
    merger.commit(0, since0, final0, final0.credits)
    since2, snap2 = merger.snapshot()
    merged = merger.commit(1, since1, final1, final1.credits)

    expected = TeacherWeights(NAMES, seed=3)  # task 1's credits, then task 0's that it missed
    replay(expected, credits1)
    replay(expected, credits0)
    np.testing.assert_array_equal(merged.scores(), expected.scores())
    assert merged.draws == 7  # the sampling state is task 1's own
    assert merged.draws_since_pick().tolist() == final1.draws_since_pick().tolist()

    merger.forget_before(since2)
    final2 = search_on(snap2, list(TASKS[2]), draws=1)
    credits2 = list(final2.credits)
    merged = merger.commit(2, since2, final2, final2.credits)
    expected = TeacherWeights(NAMES, seed=3)  # task 2 saw task 0; task 1 (only its own credits) comes after
    for credits in (credits0, credits2, credits1):
        replay(expected, credits)
    np.testing.assert_array_equal(merged.scores(), expected.scores())


def test_specs_sharing_a_name_are_replicas_only_of_the_same_model():
    groups = group_teacher_specs([
        "openai:http://127.0.0.1:8000/v1#m,name=x", "hf:countdown-noisy", "openai:http://127.0.0.1:8001/v1#m,name=x",
    ])
    assert groups == [
        ("x", ["openai:http://127.0.0.1:8000/v1#m,name=x", "openai:http://127.0.0.1:8001/v1#m,name=x"]),
        ("countdown-noisy", ["hf:countdown-noisy"]),
    ]
    with pytest.raises(ValueError, match="share the name 'x' but not the model"):
        group_teacher_specs(["openai:http://127.0.0.1:8000/v1#m,name=x", "hf:countdown-noisy,name=x"])


class Echo:
    """A replica that says which it is (the round-robin is what is under test, not a model)."""

    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def generate(self, requests):
        return [[self.name] for _ in requests]

    async def agenerate(self, requests):
        return self.generate(requests)

    def close(self) -> None:
        self.closed = True


def test_replicas_are_asked_in_turn_from_the_worker_offset():
    replicas = [Echo("r0"), Echo("r1"), Echo("r2")]
    teacher = ReplicaTeacher("t", replicas, start=1)
    answers = [teacher.generate([None])[0][0] for _ in range(4)]
    answers.append(asyncio.run(teacher.agenerate([None]))[0][0])
    assert answers == ["r1", "r2", "r0", "r1", "r2"]
    teacher.close()
    assert all(r.closed for r in replicas)
    with pytest.raises(ValueError, match="at least one replica"):
        ReplicaTeacher("t", [])
