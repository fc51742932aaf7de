"""Stage 9: credit the teachers whose steps led to a finished path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcts.tree import NO_TEACHER, Tree
from mcts.weights import TeacherWeights


def credit_finished(weights: TeacherWeights, tree: Tree, finished: Sequence[tuple[int, float]]) -> None:
    """Credit each finished path's outcome (``(terminal node, outcome)``, 1 solved / 0 not) to the
    teachers that proposed its steps, earlier steps discounted by ``gamma`` (``credit_path``).

    Only steps drawn from the weights are credited; a rollout's steps are skipped (``NO_TEACHER``):
    a rollout evaluates, it was not a draw. Crediting it made the rollout teacher (the favourite, in
    ``rollout_teacher = "top"`` mode) absorb every failed evaluation, and the weights oscillated
    instead of ranking the teachers by skill.
    """
    for node, outcome in finished:
        path = tree.path(node)[1:]  # the root has no teacher
        notes = tree.notes.many(path)
        teachers = np.where([n.from_rollout for n in notes], NO_TEACHER, tree.nodes(path).teacher).astype(np.int32)
        if (teachers != NO_TEACHER).any():
            weights.credit_path(teachers, outcome)
