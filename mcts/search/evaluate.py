"""Stage 7: leaf evaluation — a rollout by a teacher, a value function, or a blend of both.

For each expanded leaf the loop takes one new child ``c`` (:func:`chosen_children`) and asks the
evaluator for the return below it. An evaluator reads and returns; it never writes the tree:

- a value function gives an estimate ``V(after c)`` per child;
- a rollout gives a :class:`RolloutChain` per child (the steps a teacher wrote below ``c``), which
  the loop scores and adds to the tree like any other steps, so every generated token stays
  searchable and every solution a rollout finds becomes a root-to-terminal path; the chain's
  return is the discounted sum of its step rewards.

The value backed up from ``c`` is ``discount * (w * V + (1 - w) * G_chain)`` with ``w`` the
evaluation's ``value_weight`` (1 for a value function, 0 for rollouts, ``blend`` for a blend:
AlphaGo's mixing of rollouts and the value network); the tree adds ``r(c)`` on the way up.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mcts.search.config import EvaluationConfig
from mcts.search.steps import StepRule, parse_step
from mcts.types import GenerationRequest, Proposal, ScoredText, Teacher, ValueFn


@dataclass(frozen=True)
class LeafToEvaluate:
    """One chosen child to evaluate: its ``state`` (prompt and steps root..child), the full ``text``
    a rollout continues (prompt + steps), and the teacher a rollout should use (resolved by the
    search from ``evaluation.rollout_teacher``); with ``route`` (``rollout_teacher = "context"``) the
    rollout is written a step at a time: the first step by ``rollout_teacher``, each later one by the
    teacher ``route(steps written so far)``."""

    state: ScoredText
    text: str
    rollout_teacher: int
    route: Callable[[Sequence[str]], int] | None = None


@dataclass(frozen=True)
class RolloutChain:
    """The steps a rollout wrote below the child of ``leaves[index]``; ``ended``: the teacher stopped
    at end-of-sequence."""

    index: int
    teacher_id: int
    steps: tuple[str, ...]
    ended: bool
    step_teachers: tuple[int, ...] | None = None  # who wrote each step, when not all ``teacher_id``

    def teacher_of(self, k: int) -> int:
        return self.step_teachers[k] if self.step_teachers is not None else self.teacher_id


@dataclass
class Evaluation:
    """An evaluator's answer for a batch of leaves (see the module docstring for how it combines)."""

    values: np.ndarray | None = None  # float64[len(leaves)] estimates V(after c), or None
    chains: list[RolloutChain] = field(default_factory=list)
    value_weight: float = 1.0
    tokens: Counter[str] = field(default_factory=Counter)  # rollout tokens per teacher name
    calls: Counter[str] = field(default_factory=Counter)
    failed: dict[int, Exception] = field(default_factory=dict)  # teacher id -> error


class LeafEvaluator(Protocol):
    """Estimates the return below chosen children. May consume ``rng`` (e.g. rollout seeds)."""

    async def evaluate(
        self, leaves: Sequence[LeafToEvaluate], teachers: Sequence[Teacher], rng: np.random.Generator
    ) -> Evaluation: ...


class Rollout:
    """A sampled completion of each child's path by a teacher (``rollout_temperature``; 0 = greedy),
    cut into steps by ``step`` (``search.step``; default: at newlines)."""

    def __init__(self, config: EvaluationConfig, step: StepRule | None = None):
        self.config = config
        self.step = step or parse_step("newline")

    async def evaluate(self, leaves, teachers, rng) -> Evaluation:
        if any(leaf.route is not None for leaf in leaves):
            return await self.stepwise(leaves, teachers, rng)
        jobs: dict[int, list[int]] = {}  # teacher id -> leaf indices, in first-seen order
        for i, leaf in enumerate(leaves):
            jobs.setdefault(leaf.rollout_teacher, []).append(i)
        requests = {
            t: [
                GenerationRequest(
                    prompt=leaves[i].text,
                    n=1,
                    max_tokens=self.config.rollout_max_tokens,
                    temperature=self.config.rollout_temperature,
                    seed=int(rng.integers(2**31)),
                )
                for i in items
            ]
            for t, items in jobs.items()
        }
        evaluation = Evaluation(value_weight=0.0)
        for teacher_id, i, proposal in await ask(teachers, jobs, requests, evaluation):
            steps = tuple(self.step.split(proposal.text))
            if steps:
                evaluation.chains.append(RolloutChain(i, teacher_id, steps, proposal.finish_reason == "eos"))
        return evaluation

    async def stepwise(self, leaves, teachers, rng) -> Evaluation:
        """Rollouts written one step per call, each step by the teacher its leaf's ``route`` names for
        the steps so far, until a step ends in anything but a step delimiter (end of sequence, the
        token limit) or ``rollout_max_tokens`` are spent. A failed teacher ends the rollouts it was
        writing (their steps so far are kept)."""
        seeds = [int(rng.integers(2**31)) for _ in leaves]
        steps: list[list[str]] = [[] for _ in leaves]
        owners: list[list[int]] = [[] for _ in leaves]
        spent, ended = [0] * len(leaves), [False] * len(leaves)
        evaluation = Evaluation(value_weight=0.0)
        active, round_index = list(range(len(leaves))), 0
        while active:
            jobs: dict[int, list[int]] = {}
            for i in active:
                route = leaves[i].route
                # the first step's teacher is the one the search drew for the leaf (rollout_teacher)
                jobs.setdefault(route(steps[i]) if route is not None and steps[i] else leaves[i].rollout_teacher, []).append(i)
            requests = {
                t: [
                    GenerationRequest(
                        prompt=leaves[i].text + "".join(steps[i]), n=1,
                        max_tokens=min(self.step.max_tokens(self.config.rollout_max_tokens), self.config.rollout_max_tokens - spent[i]),
                        stop=self.step.stops, temperature=self.config.rollout_temperature,
                        seed=(seeds[i] + 7919 * round_index) % 2**31,
                    )
                    for i in items
                ]
                for t, items in jobs.items()
            }
            active = []
            for teacher_id, i, proposal in await ask(teachers, jobs, requests, evaluation):
                spent[i] += proposal.num_tokens
                text = self.step.step_text(proposal)
                if text.strip():
                    steps[i].append(text)
                    owners[i].append(teacher_id)
                ended[i] = proposal.finish_reason == "eos"
                goes_on = proposal.finish_reason == "stop" or (self.step.tokens is not None and proposal.finish_reason == "length")
                if goes_on and text.strip() and spent[i] < self.config.rollout_max_tokens:
                    active.append(i)
            active.sort()
            round_index += 1
        for i in range(len(leaves)):
            if steps[i]:
                evaluation.chains.append(RolloutChain(i, owners[i][0], tuple(steps[i]), ended[i], tuple(owners[i])))
        return evaluation


async def ask(teachers: Sequence[Teacher], jobs: dict[int, list[int]], requests: dict[int, list[GenerationRequest]],
              evaluation: Evaluation) -> list[tuple[int, int, Proposal]]:
    """Each teacher's requests at once; ``(teacher id, leaf index, its one proposal)`` per answered
    request, the calls and tokens counted in ``evaluation`` and a failed teacher's error kept there."""
    replies = await asyncio.gather(*(teachers[t].agenerate(requests[t]) for t in jobs), return_exceptions=True)
    answered = []
    for (teacher_id, items), reply in zip(jobs.items(), replies):
        if isinstance(reply, BaseException):
            if not isinstance(reply, Exception):
                raise reply
            evaluation.failed[teacher_id] = reply
            continue
        name = teachers[teacher_id].name
        for i, (proposal, *_) in zip(items, reply):
            evaluation.calls[name] += 1
            evaluation.tokens[name] += proposal.num_tokens
            answered.append((teacher_id, i, proposal))
    return answered


class ValueEvaluator:
    """A learned value function V(prompt + steps) in place of rollouts (value networks plug in here)."""

    def __init__(self, value_fn: ValueFn):
        self.value_fn = value_fn

    async def evaluate(self, leaves, teachers, rng) -> Evaluation:
        estimates = self.value_fn.value([leaf.state for leaf in leaves]) if leaves else []
        return Evaluation(values=np.asarray(estimates, dtype=np.float64).reshape(len(leaves)), value_weight=1.0)


class Blend:
    """``(1 - weight) * rollout + weight * value`` (AlphaGo's mixing of rollouts and the value network)."""

    def __init__(self, rollout: Rollout, value: ValueEvaluator, weight: float):
        self.rollout, self.value, self.weight = rollout, value, weight

    async def evaluate(self, leaves, teachers, rng) -> Evaluation:
        by_value = await self.value.evaluate(leaves, teachers, rng)
        by_rollout = await self.rollout.evaluate(leaves, teachers, rng)
        by_rollout.values = by_value.values
        by_rollout.value_weight = self.weight
        return by_rollout


def value_function_of(evaluator: object) -> ValueFn | None:
    """The value function behind an evaluator (:class:`ValueEvaluator`, or a :class:`Blend`'s), if any."""
    if isinstance(evaluator, Blend):
        evaluator = evaluator.value
    return evaluator.value_fn if isinstance(evaluator, ValueEvaluator) else None


def chosen_children(priors: Sequence[np.ndarray], kids: Sequence[np.ndarray], open_: Sequence[np.ndarray]) -> list[int | None]:
    """Per leaf, the new child to evaluate: the most probable one the judge did not prune (the most
    probable of all when every one was pruned); None for a leaf without new children."""
    chosen: list[int | None] = []
    for p, k, o in zip(priors, kids, open_):
        if len(k) == 0:
            chosen.append(None)
            continue
        pool = np.flatnonzero(o) if o.any() else np.arange(len(k))
        chosen.append(int(k[pool[int(np.argmax(p[pool]))]]))
    return chosen
