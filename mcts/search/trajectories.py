"""Turning a searched tree into trajectories and a search result (reads the tree and its notes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mcts.search.score import JudgeCost
from mcts.search.usage import SearchUsage
from mcts.tree import Tree
from mcts.types import SearchResult, SearchTask, Step, Trajectory


def trajectories(
    tree: Tree, task: SearchTask, prefix: Sequence[str], paths: Sequence[np.ndarray], solved: set[int],
    prefix_return: float = 0.0,
) -> list[Trajectory]:
    """One trajectory per root..node path (the root itself carries no step), read in one batch.

    ``final_reward`` is the path's return: the task's rewards of all its steps (those above the root
    after a reroot included, ``prefix_return``), without the judge's shifts; each step's ``reward`` is
    its own (the judge's shift included). After a reroot the steps above the root belong to the prompt."""
    ids = np.unique(np.concatenate([p[1:] for p in paths])) if paths else np.empty(0, dtype=np.int32)
    stats = tree.nodes(ids)
    actions = tree.actions(ids)
    row = {int(n): i for i, n in enumerate(ids)}
    prompt = task.prompt + "".join(prefix)
    out = []
    for path in paths:
        steps = []
        for node in path[1:]:
            i, note = row[int(node)], tree.notes.get(int(node))
            visits = int(stats.visits[i])
            steps.append(
                Step(
                    text=actions[i],
                    tokens=note.tokens,
                    teachers=note.teachers,
                    prior=float(stats.prior[i]),
                    visits=visits,
                    q=float(stats.value_sum[i]) / visits if visits else 0.0,
                    reward=float(stats.reward[i]),
                    reward_components=note.components,
                    judge_shift=note.judge,
                    pruned=note.pruned,
                )
            )
        last = int(path[-1])
        path_return = prefix_return + math.fsum(tree.notes.get(int(n)).task_reward for n in path[1:])
        out.append(
            Trajectory(
                task_id=task.id,
                prompt=prompt,
                steps=tuple(steps),
                final_reward=path_return,
                solved=last in solved,
                node_ids=tuple(int(n) for n in path[1:]),
            )
        )
    return out


def collect_result(
    tree: Tree, task: SearchTask, prefix: Sequence[str], solved: Sequence[int], usage: SearchUsage, judge: JudgeCost,
    faults: dict[str, int] | None = None, interrupted: str | None = None, stop_reason: str | None = None,
    prefix_return: float = 0.0,
) -> SearchResult:
    """Every root-to-terminal path as a trajectory; the best is the first solution found, else the
    most visited path."""
    solved_set = set(solved)
    paths = [np.asarray(p) for p in tree.terminal_paths()]
    found = trajectories(tree, task, prefix, paths, solved_set, prefix_return)
    if solved:
        (best,) = trajectories(tree, task, prefix, [tree.path(solved[0])], solved_set, prefix_return)
    else:
        best_path = tree.best_path(by="visits")
        best = trajectories(tree, task, prefix, [best_path], solved_set, prefix_return)[0] if len(best_path) > 1 else None
    return SearchResult(
        task_id=task.id,
        best=best,
        trajectories=tuple(found),
        solved=bool(solved),
        simulations=usage.simulations,
        generated_tokens=usage.tokens,
        calls_per_teacher=dict(usage.calls),
        seconds=usage.seconds,
        judge_calls=judge.calls,
        judge_tokens=judge.tokens,
        judge_seconds=judge.seconds,
        faults=dict(faults or {}),
        interrupted=interrupted,
        stop_reason=stop_reason,
        tree=tree,
    )
