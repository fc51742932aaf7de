"""Teacher weights shared by searches on several workers: a periodic credit merge in task order.

The driver owns the run's weights. Every task is searched on a worker from a *snapshot* of them and
records the credits its search makes (``credit_path`` / ``update`` calls, in order). When the task
is committed (tasks commit in task order), the run's weights become the task's own final weights
(its snapshot, its credits, its teacher-pick random state) with the credits of the tasks committed
while it ran replayed on top, in task order. So every credit of the run is applied exactly once,
the merge is the same whatever the timing, and with one worker (each snapshot is the latest
weights) a run equals the plain sequential run bit for bit. With N workers a task sees the credits
of all but the N - 1 tasks before it; the weights end in the same order as with one worker (the
same evidence, merged a few tasks late), not with the same values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcts.tree import Tree
from mcts.tree_io import dumps_tree, loads_tree
from mcts.weights import TeacherWeights

# One recorded credit: ("path", teacher ids root..leaf, outcome) or ("update", teacher id, outcome);
# in contexts (weights.context on): ("path_in", (teacher ids, context ids), outcome) or
# ("update_in", (teacher id, context id), outcome).
Credit = tuple[str, object, float]


def weights_to_bytes(weights: TeacherWeights) -> bytes:
    """The whole weights state (scores, pick counters, random state, history) in the tree file format."""
    return dumps_tree(Tree(), weights)


def weights_from_bytes(data: bytes) -> TeacherWeights:
    _, weights = loads_tree(data)
    if weights is None:
        raise ValueError("the weights snapshot holds no teacher weights")
    return weights


class RecordingWeights(TeacherWeights):
    """Teacher weights that also keep a list of the credits applied to them (``credits``)."""

    credits: list[Credit]

    @classmethod
    def from_bytes(cls, data: bytes) -> RecordingWeights:
        weights = cls._wrap(weights_from_bytes(data)._native)
        weights.credits = []
        return weights

    def update(self, teacher: int | str, outcome: float, context: int | None = None) -> None:
        super().update(teacher, outcome, context)
        if context is None:
            self.credits.append(("update", self.index(teacher), float(outcome)))
        else:
            self.credits.append(("update_in", (self.index(teacher), int(context)), float(outcome)))

    def credit_path(self, teachers, outcome: float, contexts=None) -> None:
        super().credit_path(teachers, outcome, contexts)
        ids = tuple(int(t) for t in np.asarray(teachers).reshape(-1))
        if contexts is None:
            self.credits.append(("path", ids, float(outcome)))
        else:
            self.credits.append(("path_in", (ids, tuple(int(c) for c in np.asarray(contexts).reshape(-1))), float(outcome)))


def replay(weights: TeacherWeights, credits: Sequence[Credit]) -> None:
    """Applies recorded credits to ``weights``, in their order."""
    for kind, teachers, outcome in credits:
        if kind == "path":
            weights.credit_path(np.asarray(teachers, dtype=np.int32), outcome)
        elif kind == "path_in":
            ids, contexts = teachers
            weights.credit_path(np.asarray(ids, dtype=np.int32), outcome, list(contexts))
        elif kind == "update_in":
            teacher, context = teachers
            weights.update(teacher, outcome, context)
        else:
            weights.update(int(teachers), outcome)


class WeightsMerger:
    """The driver's side of the merge. Positions count committed tasks from 0 (this call's tasks).

    ``snapshot()`` -> ``(position, bytes)`` for a task about to be dispatched; ``commit(position,
    since, final, credits)`` merges the task at ``position`` (the next to commit) that started from
    the snapshot taken at ``since`` and ended with ``final`` weights after its ``credits``.
    """

    def __init__(self, weights: TeacherWeights) -> None:
        self.weights = weights
        self.committed = 0
        self._credits: dict[int, Sequence[Credit]] = {}

    def snapshot(self) -> tuple[int, bytes]:
        return self.committed, weights_to_bytes(self.weights)

    def commit(self, position: int, since: int, final: TeacherWeights, credits: Sequence[Credit]) -> TeacherWeights:
        if position != self.committed or not 0 <= since <= position:
            raise ValueError(f"tasks commit in order: expected position {self.committed}, got {position} (since {since})")
        if list(final.names) != list(self.weights.names):
            raise ValueError(f"a worker's weights know {list(final.names)}, the run's {list(self.weights.names)}")
        own = list(credits)  # copied first: replaying onto a RecordingWeights would extend its list
        for missed in range(since, position):
            replay(final, self._credits[missed])
        self._credits[position] = own
        self.weights = final
        self.committed += 1
        return final

    def forget_before(self, position: int) -> None:
        """Drops the credits of tasks before ``position`` (no task in flight started before it)."""
        for old in [p for p in self._credits if p < position]:
            del self._credits[old]
