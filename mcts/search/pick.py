"""Stage 2: pick the teachers that propose children for each selected leaf."""

from __future__ import annotations

from collections.abc import Set

import numpy as np

from mcts.weights import TeacherWeights


def pick_teachers(weights: TeacherWeights, num_leaves: int, per_leaf: int, benched: Set[int]) -> np.ndarray:
    """Teacher ids, int64 ``(num_leaves, per_leaf)``, drawn from the dynamic weights (consumes
    ``num_leaves * per_leaf`` draws of the weights' RNG).

    A benched teacher's draws go to the most probable teacher still working; with every teacher
    benched the result has no columns.
    """
    picks = np.asarray(weights.sample(num_leaves * per_leaf), dtype=np.int64).reshape(num_leaves, per_leaf)
    if benched:
        working = [i for i in range(len(weights)) if i not in benched]
        if not working:
            return picks[:, :0]
        probs = weights.probabilities()
        fallback = max(working, key=lambda i: probs[i])
        picks = np.where(np.isin(picks, list(benched)), fallback, picks)
    return picks
