"""Stage 2: pick the teachers that propose children for each selected leaf."""

from __future__ import annotations

from collections.abc import Sequence, Set

import numpy as np

from mcts.weights import TeacherWeights


def pick_teachers(
    weights: TeacherWeights, num_leaves: int, per_leaf: int, benched: Set[int], contexts: Sequence[int] | None = None
) -> np.ndarray:
    """Teacher ids, int64 ``(num_leaves, per_leaf)``, drawn from the dynamic weights (consumes
    ``num_leaves * per_leaf`` draws of the weights' RNG), each leaf's in its context when
    ``contexts`` (one per leaf) is given, else from the global weights.

    A benched teacher's draws go to the most probable teacher still working (in the leaf's
    context); with every teacher benched the result has no columns.
    """
    if contexts is None:
        picks = np.asarray(weights.sample(num_leaves * per_leaf), dtype=np.int64).reshape(num_leaves, per_leaf)
    else:
        picks = np.asarray(weights.sample_per_context(contexts, per_leaf), dtype=np.int64)
    if benched:
        working = [i for i in range(len(weights)) if i not in benched]
        if not working:
            return picks[:, :0]
        for row, context in enumerate(contexts if contexts is not None else [None] * num_leaves):
            probs = weights.probabilities(context)
            fallback = max(working, key=lambda i: probs[i])
            picks[row] = np.where(np.isin(picks[row], list(benched)), fallback, picks[row])
    return picks
