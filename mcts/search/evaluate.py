"""Stage 6: leaf evaluation — a rollout by a policy teacher, a value function, or a blend.

For each expanded leaf the evaluator takes its most probable new child ``c`` (``chosen_children``)
and estimates the return below it, ``discount * V(after c)`` (0 when ``c`` is terminal). The search
moves the leaf's selection down to ``c`` (``Tree.descend``) and backs that value up from ``c``; the
tree adds ``r(c)``, so ``c`` itself records ``G(c) = r(c) + discount * V(after c)``. A rollout's steps
are added to the tree as a chain below ``c`` so that every token generated stays searchable and every
solution it finds becomes a root-to-terminal path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mcts.search.config import EvaluationConfig
from mcts.search.grow import add_children
from mcts.search.merge import Candidate
from mcts.search.task import split_steps
from mcts.types import GenerationRequest, ScoredText, ValueFn

if TYPE_CHECKING:
    from mcts.search.state import SearchState

log = logging.getLogger(__name__)


class LeafEvaluator(Protocol):
    async def evaluate(
        self, state: SearchState, leaves: Sequence[int], children_per_leaf: Sequence[Sequence[int]]
    ) -> np.ndarray:
        """Per leaf, the discounted return below its chosen child (float64, shape ``(len(leaves),)``);
        0 for a leaf without children or whose chosen child is terminal."""
        ...


def chosen_children(state: SearchState, children_per_leaf: Sequence[Sequence[int]]) -> list[int | None]:
    """The highest-prior new child of each leaf (None where a leaf got no children)."""
    chosen: list[int | None] = []
    for kids in children_per_leaf:
        if not kids:
            chosen.append(None)
            continue
        priors = [state.tree.node(k).prior for k in kids]
        chosen.append(kids[int(np.argmax(priors))])
    return chosen


def split_terminal(state: SearchState, children_per_leaf: Sequence[Sequence[int]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Zero values (nothing lies below a terminal child, or a missing one), and the ``(leaf index,
    child)`` pairs whose chosen child is open: those an evaluator still has to estimate."""
    values = np.zeros(len(children_per_leaf), dtype=np.float64)
    open_children = [
        (i, child)
        for i, child in enumerate(chosen_children(state, children_per_leaf))
        if child is not None and not state.is_terminal(child)
    ]
    return values, open_children


def rollout_teacher_id(state: SearchState, child: int) -> int:
    mode = state.config.evaluation.rollout_teacher
    working = [i for i in range(len(state.teachers)) if i not in state.benched] or list(range(len(state.teachers)))
    if mode == "top":
        probs = state.weights.probabilities()
        return max(working, key=lambda i: probs[i])
    if mode == "proposer":
        teacher = state.tree.node(child).teacher
        return teacher if teacher in working else working[0]
    names = [t.name for t in state.teachers]
    if mode not in names:
        raise ValueError(f"evaluation.rollout_teacher {mode!r} is not one of the teachers {names} (or 'top', 'proposer')")
    return names.index(mode)


class Rollout:
    """Greedy (by default) completion of the path by a policy teacher, scored by the task."""

    def __init__(self, config: EvaluationConfig):
        self.config = config

    async def evaluate(self, state, leaves, children_per_leaf) -> np.ndarray:
        values, open_children = split_terminal(state, children_per_leaf)
        discount = state.config.selection.discount
        jobs: dict[int, list[tuple[int, int]]] = {}  # teacher id -> [(leaf index, child)]
        for i, child in open_children:
            jobs.setdefault(rollout_teacher_id(state, child), []).append((i, child))
        for teacher_id, items in jobs.items():
            returns = await self._roll(state, teacher_id, [c for _, c in items])
            for (i, _), g in zip(items, returns):
                values[i] = discount * g
        return values

    async def _roll(self, state: SearchState, teacher_id: int, children: Sequence[int]) -> list[float]:
        """Complete each child's path; add the steps as a chain; return the discounted return below it."""
        teacher = state.teachers[teacher_id]
        requests = [
            GenerationRequest(
                prompt=state.task.prompt + state.tree.text(child),
                n=1,
                max_tokens=self.config.rollout_max_tokens,
                temperature=self.config.rollout_temperature,
                seed=int(state.rng.integers(2**31)),
            )
            for child in children
        ]
        try:
            replies = await teacher.agenerate(requests)
        except Exception as err:  # noqa: BLE001 - a failing teacher is benched, the search goes on
            log.warning("rollout teacher %s failed and is benched for this task: %s", teacher.name, err)
            state.benched.add(teacher_id)
            return [0.0] * len(children)
        returns = []
        for child, reply in zip(children, replies):
            proposal = reply[0]
            state.usage.record(teacher.name, proposal.num_tokens, rollout=True)
            returns.append(add_chain(state, child, teacher_id, proposal.text, proposal.finish_reason == "eos"))
        return returns


def add_chain(state: SearchState, parent: int, teacher_id: int, text: str, ended: bool) -> float:
    """Add a rollout's steps below ``parent`` (stopping at the first terminal one); return their return."""
    steps = split_steps(text, state.delimiter)
    rewards: list[float] = []
    node = parent
    name = state.teachers[teacher_id].name
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        existing = dict(zip(state.tree.actions(state.tree.children(node).ids), state.tree.children(node).ids))
        if step in existing:
            node = int(existing[step])
            rewards.append(state.tree.node(node).reward)
            if state.is_terminal(node):
                break
            continue
        cand = Candidate(
            text=step, prior=1.0, teachers=[name], teacher_ids=[teacher_id], tokens=0, ended=ended and last, from_rollout=True
        )
        (node,) = add_children(state, [node], [[cand]])
        node = int(node)
        rewards.append(state.tree.node(node).reward)
        if state.is_terminal(node):
            break
    discount = state.config.selection.discount
    return float(sum(r * discount**k for k, r in enumerate(rewards)))


class ValueEvaluator:
    """A learned value function V(prompt + steps) in place of rollouts (value networks plug in here)."""

    def __init__(self, value_fn: ValueFn):
        self.value_fn = value_fn

    async def evaluate(self, state, leaves, children_per_leaf) -> np.ndarray:
        values, open_children = split_terminal(state, children_per_leaf)
        discount = state.config.selection.discount
        states = [
            ScoredText(state.task.prompt, tuple(state.steps(c)), state.task.reference, state.task.id)
            for _, c in open_children
        ]
        estimates = self.value_fn.value(states) if states else []
        for (i, _), v in zip(open_children, estimates):
            values[i] = discount * float(v)
        return values


class Blend:
    """``(1 - w) * rollout + w * value`` (AlphaGo's mixing of rollouts and the value network)."""

    def __init__(self, rollout: Rollout, value: ValueEvaluator, weight: float):
        self.rollout, self.value, self.weight = rollout, value, weight

    async def evaluate(self, state, leaves, children_per_leaf) -> np.ndarray:
        by_value = await self.value.evaluate(state, leaves, children_per_leaf)
        by_rollout = await self.rollout.evaluate(state, leaves, children_per_leaf)
        return (1 - self.weight) * by_rollout + self.weight * by_value
