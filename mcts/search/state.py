"""The state of one task's search: the tree, the teachers, their weights, and the bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcts.search.config import SearchConfig
from mcts.search.evaluate import LeafEvaluator, Rollout
from mcts.search.merge import Candidate
from mcts.search.task import SearchTask
from mcts.search.trajectories import NodeNotes
from mcts.search.usage import Usage
from mcts.tree import Tree
from mcts.types import Judge, Teacher
from mcts.weights import TeacherWeights


@dataclass
class SearchState:
    """Everything one task's search holds; built by ``new_search_state``."""

    task: SearchTask
    tree: Tree
    teachers: Sequence[Teacher]
    weights: TeacherWeights
    config: SearchConfig
    evaluator: LeafEvaluator
    judge: Judge | None
    delimiter: str
    usage: Usage = field(default_factory=Usage)
    notes: NodeNotes = field(default_factory=NodeNotes)
    benched: set[int] = field(default_factory=set)
    pool: dict[int, list[Candidate]] = field(default_factory=dict)  # held back by progressive widening
    solved_nodes: list[int] = field(default_factory=list)
    rollout_nodes: set[int] = field(default_factory=set)  # added by rollouts: never credited to a teacher
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def is_terminal(self, node: int) -> bool:
        return bool(self.tree.nodes([node]).terminal[0])

    def steps(self, node: int) -> list[str]:
        """The step texts root..node (the root has none)."""
        return self.tree.actions(self.tree.path(node)[1:])


def new_search_state(
    task: SearchTask,
    teachers: Sequence[Teacher],
    weights: TeacherWeights,
    config: SearchConfig,
    *,
    evaluator: LeafEvaluator | None = None,
    judge: Judge | None = None,
    delimiter: str = "\n",
) -> SearchState:
    if not teachers:
        raise ValueError("search needs at least one teacher")
    if len(weights.names) != len(teachers):
        raise ValueError(f"{len(teachers)} teachers but the weights know {len(weights.names)}: {weights.names}")
    tree = Tree(config.selection)
    known_range = getattr(task, "return_range", None)
    if known_range is not None:
        tree.include_q_range(*known_range)
    return SearchState(
        task=task,
        tree=tree,
        teachers=teachers,
        weights=weights,
        config=config,
        evaluator=evaluator or Rollout(config.evaluation),
        judge=judge,
        delimiter=delimiter,
        rng=np.random.default_rng(config.seed),
    )
