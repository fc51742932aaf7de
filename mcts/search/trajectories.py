"""Turning a searched tree into trajectories and a search result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mcts.types import SearchResult, Step, Trajectory

if TYPE_CHECKING:
    from mcts.search.state import SearchState


@dataclass(frozen=True)
class NodeNote:
    """What the tree does not store about a node: every teacher that proposed it, and its scores."""

    teachers: tuple[str, ...]
    tokens: int
    components: dict[str, float]
    judge: int
    task_reward: float


@dataclass
class NodeNotes:
    notes: dict[int, NodeNote] = field(default_factory=dict)

    def add(self, node: int, *, teachers, tokens: int, components: dict[str, float], judge: int, task_reward: float) -> None:
        self.notes[node] = NodeNote(tuple(teachers), tokens, components, judge, task_reward)

    def get(self, node: int) -> NodeNote:
        return self.notes.get(node) or NodeNote((), 0, {}, 0, 0.0)


def trajectory(state: SearchState, path: list[int]) -> Trajectory:
    """The trajectory of one root..node path (the root itself carries no step)."""
    steps = []
    for node_id in path[1:]:
        node, note = state.tree.node(node_id), state.notes.get(node_id)
        steps.append(
            Step(
                text=node.action,
                tokens=note.tokens,
                teachers=note.teachers,
                prior=node.prior,
                visits=node.visits,
                q=node.q,
                reward=node.reward,
                reward_components=note.components,
                judge_shift=note.judge,
            )
        )
    last = path[-1]
    return Trajectory(
        task_id=state.task.id,
        prompt=state.task.prompt,
        steps=tuple(steps),
        final_reward=state.notes.get(last).task_reward,
        solved=last in state.solved_nodes,
        node_ids=tuple(path[1:]),
    )


def collect_result(state: SearchState) -> SearchResult:
    paths = [[int(x) for x in p] for p in state.tree.terminal_paths()]
    trajectories = tuple(trajectory(state, p) for p in paths)
    if state.solved_nodes:
        best = trajectory(state, [int(x) for x in state.tree.path(state.solved_nodes[0])])
    else:
        best_path = [int(x) for x in state.tree.best_path(by="visits")]
        best = trajectory(state, best_path) if len(best_path) > 1 else None
    usage = state.usage
    return SearchResult(
        task_id=state.task.id,
        best=best,
        trajectories=trajectories,
        solved=bool(state.solved_nodes),
        simulations=usage.simulations,
        generated_tokens=usage.tokens,
        calls_per_teacher=dict(usage.calls),
        seconds=usage.seconds,
        tree=state.tree,
    )
