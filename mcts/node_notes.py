"""What the native tree does not store about a node, kept beside it in id order.

The tree stores one teacher per node (the first proposer) and a scalar reward; the notes keep every
teacher that proposed the step, the tokens it cost, the reward's parts, the judge's verdict, whether
the node came from a rollout (never credited to a teacher) and whether it was pruned. They live in
the :class:`mcts.Tree` facade (``tree.notes``), so ``Tree.reroot`` renumbers them with the nodes:
a note can never end up on another node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class NodeNote:
    """One node's annotations. ``teachers``/``teacher_ids``: every proposer, first one first;
    ``judge``: the verdict in [-1, 1] (0 without a judge); ``task_reward``: the task's own reward,
    before the judge's shift; ``pruned``: the judge rejected it, so it is never expanded."""

    teachers: tuple[str, ...] = ()
    teacher_ids: tuple[int, ...] = ()
    tokens: int = 0
    components: dict[str, float] = field(default_factory=dict)
    judge: float = 0.0
    task_reward: float = 0.0
    solved: bool = False
    from_rollout: bool = False
    pruned: bool = False


EMPTY = NodeNote()


class NodeNotes:
    """Notes indexed by node id; a node never annotated reads as ``EMPTY`` (the root, for one)."""

    def __init__(self) -> None:
        self._notes: list[NodeNote] = []

    def __len__(self) -> int:
        return len(self._notes)

    def set(self, ids: Sequence[int] | np.ndarray, notes: Sequence[NodeNote]) -> None:
        for node, note in zip(ids, notes):
            node = int(node)
            if node >= len(self._notes):
                self._notes.extend([EMPTY] * (node + 1 - len(self._notes)))
            self._notes[node] = note

    def get(self, node: int) -> NodeNote:
        return self._notes[node] if 0 <= node < len(self._notes) else EMPTY

    def many(self, ids: Sequence[int] | np.ndarray) -> list[NodeNote]:
        return [self.get(int(i)) for i in ids]

    def remap(self, old_to_new: np.ndarray) -> None:
        """Follow a renumbering (``old_to_new[old] = new``, -1 for released nodes)."""
        kept = [EMPTY] * int(old_to_new.max(initial=-1) + 1)
        for old, note in enumerate(self._notes):
            if old < len(old_to_new) and old_to_new[old] >= 0:
                kept[int(old_to_new[old])] = note
        self._notes = kept
