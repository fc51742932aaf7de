"""Stage 6: add scored children to the tree, with their notes, in one native call.

Used for the expansion's children and for a rollout's chain of steps alike. Adding writes the tree
and its notes only: it credits no teacher and evaluates nothing (those are later stages).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcts.node_notes import NodeNote
from mcts.search.merge import Candidate
from mcts.search.score import ScoredStep
from mcts.tree import Tree


def add_children(
    tree: Tree, parents: Sequence[int], candidates: Sequence[Candidate], scored: Sequence[ScoredStep], judge_scale: float
) -> np.ndarray:
    """Add ``candidates[i]`` below ``parents[i]`` with its score; returns the new ids (int32, in order).

    The tree stores the first proposer as the node's teacher; the notes keep every proposer. A pruned
    step is added as terminal: it is never expanded or rolled out, and its reward (the reject shift)
    is what a visit to it backs up.
    """
    if not candidates:
        return np.empty(0, dtype=np.int32)
    children = tree.expand(
        parents=np.asarray(parents, dtype=np.int32),
        priors=np.asarray([c.prior for c in candidates], dtype=np.float32),
        teachers=np.asarray([c.teacher_ids[0] for c in candidates], dtype=np.int32),
        rewards=np.asarray([s.reward(judge_scale) for s in scored], dtype=np.float32),
        terminal=np.asarray([s.outcome.terminal or s.pruned for s in scored], dtype=bool),
        actions=[c.text for c in candidates],
    )
    tree.notes.set(
        children,
        [
            NodeNote(
                teachers=tuple(c.teachers),
                teacher_ids=tuple(c.teacher_ids),
                tokens=c.tokens,
                components=dict(s.outcome.components),
                judge=s.verdict,
                task_reward=s.outcome.reward,
                solved=s.outcome.solved,
                from_rollout=c.from_rollout,
                pruned=s.pruned,
            )
            for c, s in zip(candidates, scored)
        ],
    )
    return children
