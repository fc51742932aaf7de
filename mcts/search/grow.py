"""Stages 5 and 8: grow the tree with scored children, and credit teachers on finished paths.

Shared by the expansion stage and by rollouts (whose steps become a chain of nodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mcts.search.merge import Candidate
from mcts.search.task import StepOutcome
from mcts.tree import NO_TEACHER
from mcts.types import ScoredText

if TYPE_CHECKING:
    from mcts.search.state import SearchState


def add_children(state: SearchState, leaves: Sequence[int], candidates: Sequence[Sequence[Candidate]]) -> np.ndarray:
    """Score every candidate (task outcome + judge shift) and add them all in one tree call."""
    parents, paths, flat = [], [], []
    for leaf, cands in zip(leaves, candidates):
        base = state.steps(leaf)
        for c in cands:
            parents.append(leaf)
            paths.append([*base, c.text])
            flat.append(c)
    if not flat:
        return np.empty(0, dtype=np.int32)
    outcomes = terminal_outcomes(state, paths, [c.ended for c in flat])
    shifts = judge_shifts(state, paths)
    rewards = [o.reward + state.config.judge.scale * j for o, j in zip(outcomes, shifts)]
    # The tree stores one teacher per node (the first proposer); the notes keep them all.
    children = state.tree.expand(
        parents=np.asarray(parents, dtype=np.int32),
        priors=np.asarray([c.prior for c in flat], dtype=np.float32),
        teachers=np.asarray([c.teacher_ids[0] for c in flat], dtype=np.int32),
        rewards=np.asarray(rewards, dtype=np.float32),
        terminal=np.asarray([o.terminal for o in outcomes], dtype=bool),
        actions=[c.text for c in flat],
    )
    for child, c, o, j in zip(children, flat, outcomes, shifts):
        state.notes.add(
            int(child), teachers=c.teachers, tokens=c.tokens, components=dict(o.components), judge=j, task_reward=o.reward
        )
        if c.from_rollout:
            state.rollout_nodes.add(int(child))
        if o.solved:
            state.solved_nodes.append(int(child))
    credit_finished(state, [(int(ch), o.solved) for ch, o in zip(children, outcomes) if o.terminal])
    return children


def terminal_outcomes(state: SearchState, paths: Sequence[Sequence[str]], ended: Sequence[bool]) -> list[StepOutcome]:
    """The task's verdict, made terminal also by the generic rules (end-of-sequence, depth, length)."""
    outcomes = state.task.outcomes(paths)
    term = state.config.terminal
    result = []
    for path, o, eos in zip(paths, outcomes, ended):
        text = "".join(path)
        forced = (
            eos
            or len(path) >= term.max_depth
            or len(text) >= term.max_chars
            or any(s in path[-1] for s in term.stop_strings)
            or (term.sentence_end and path[-1].rstrip().endswith((".", "!", "?")))
        )
        result.append(o if o.terminal or not forced else StepOutcome(True, o.reward, o.solved, o.components))
    return result


def judge_shifts(state: SearchState, paths: Sequence[Sequence[str]]) -> list[int]:
    if state.judge is None or not paths:
        return [0] * len(paths)
    states = [ScoredText(state.task.prompt, tuple(p), state.task.reference, state.task.id) for p in paths]
    state.usage.judge_calls += 1
    return list(state.judge.judge(states))


def credit_finished(state: SearchState, finished: Sequence[tuple[int, bool]]) -> None:
    """Credit the teachers that proposed the steps of each finished path: 1 if solved else 0, earlier
    steps discounted by ``gamma`` (SPEC item 3).

    Only steps drawn from the weights are credited; a rollout's steps are skipped (``NO_TEACHER``):
    a rollout evaluates, it was not a draw. Crediting it made the rollout teacher (the favourite, in
    ``rollout_teacher = "top"`` mode) absorb every failed evaluation, and the weights oscillated
    instead of ranking the teachers by skill.
    """
    if not state.config.weights.dynamic:
        return
    for node, solved in finished:
        path = state.tree.path(node)[1:]  # the root has no teacher
        teachers = np.asarray(
            [NO_TEACHER if int(n) in state.rollout_nodes else int(t) for n, t in zip(path, state.tree.nodes(path).teacher)],
            dtype=np.int32,
        )
        if (teachers != NO_TEACHER).any():
            state.weights.credit_path(teachers, 1.0 if solved else 0.0)
