"""Value-net examples straight from a searched tree (``mcts.Tree``), one per informative node.

A run's ``trajectories.jsonl`` (:mod:`value.value_data`) logs root-to-terminal paths only; the
tree itself holds every node, its visits and backed-up value sum, and every terminal the search
reached, rollout chains included. From a search with ``stop_on_solve = False`` this gives each node
two Monte-Carlo estimates of "the teachers solve it from here":

- ``q``: the backed-up mean ``value_sum / visits`` (the search's own estimate, ``visits`` samples);
- ``mc_return``: the mean reward of the terminal nodes in the node's subtree (a terminal node's
  own reward for a terminal node), ``terminals`` samples: every completion the search wrote below
  the node, rollouts included, also those that were never visited themselves.

For rewards only at terminals (countdown: 1 solved, 0 otherwise) both lie in [0, 1]; ``target="mix"``
(:meth:`value.value_data.ValueExample.target`) pools them, each weighted by its sample count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcts.tree import Tree
from value.value_data import ValueExample


def _subtree_sums(parents: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per node, the sum of ``values`` over its subtree (itself included), float64 ``(n_nodes, k)``.

    Node ids are creation order, so a child's id is larger than its parent's: one pass from the
    last id to the first adds each node's totals into its parent.
    """
    sums = np.array(values, dtype=np.float64, copy=True)
    for node in range(len(parents) - 1, 0, -1):
        parent = int(parents[node])
        if parent >= 0:
            sums[parent] += sums[node]
    return sums


def subtree_terminal_stats(tree: Tree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(count, reward_sum, solved_count)`` per node id, float64 ``(n_nodes,)``: the terminal nodes
    in each node's subtree (itself included), the sum of their stored rewards, and how many of them
    have reward >= 1 (solved, for a 0/1 verifier)."""
    nodes = tree.nodes()
    term = nodes.terminal
    columns = np.stack([term, np.where(term, nodes.reward, 0.0), term & (nodes.reward >= 1.0)], axis=1)
    sums = _subtree_sums(nodes.parent, columns.astype(np.float64))
    return sums[:, 0], sums[:, 1], sums[:, 2]


def tree_examples(
    tree: Tree, task_id: str, prompt: str, prefix: Sequence[str] = (), *, min_samples: int = 1
) -> list[ValueExample]:
    """One :class:`ValueExample` per non-root node with at least ``min_samples`` samples (visits
    plus terminals below it); nodes with neither (unvisited, open leaves) carry no label and are left out.

    ``prefix``: steps above the tree's root (a rerooted search), prepended to every node's steps.
    ``outcome`` is the solved fraction of the subtree's terminals (reward >= 1), or ``q`` without any.
    """
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")
    nodes = tree.nodes()
    count, total, solved = subtree_terminal_stats(tree)
    q = nodes.q
    keep = [i for i in range(1, len(nodes)) if nodes.visits[i] + count[i] >= min_samples]
    texts = tree.actions(np.arange(len(nodes), dtype=np.int32)) if keep else []
    examples = []
    for node in keep:
        steps = [texts[int(i)] for i in tree.path(node)[1:]]
        terminals = int(count[node])
        mc = float(total[node] / terminals) if terminals else float(q[node])
        examples.append(
            ValueExample(
                task_id=task_id,
                prompt=prompt,
                steps=(*prefix, *steps),
                q=float(q[node]) if nodes.visits[node] else mc,
                visits=int(nodes.visits[node]),
                outcome=float(solved[node] / terminals) if terminals else float(min(max(q[node], 0.0), 1.0)),
                mc_return=mc,
                terminals=terminals,
            )
        )
    return examples
