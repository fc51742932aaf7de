"""Stage 3: ask the picked teachers for continuations of their leaves, every teacher at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcts.search.config import ExpansionConfig
from mcts.search.steps import StepRule
from mcts.types import GenerationRequest, Proposal, Teacher


@dataclass
class Proposed:
    """What one propose call brought back.

    ``per_leaf[i]``: ``(teacher_id, proposal)`` pairs for leaf ``i``; ``tokens``/``calls``: generated
    tokens and requests per teacher name; ``failed``: teacher id -> the error of a teacher whose call
    failed (after its own retries): its leaves (``failed_rows``) got fewer proposals.
    """

    per_leaf: list[list[tuple[int, Proposal]]]
    tokens: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    failed: dict[int, Exception] = field(default_factory=dict)
    failed_rows: set[int] = field(default_factory=set)  # leaves one of whose teachers failed


async def propose(
    teachers: Sequence[Teacher],
    prompts: Sequence[str],
    picks: np.ndarray,
    expansion: ExpansionConfig,
    step: StepRule,
    rng: np.random.Generator,
    temperatures: Sequence[float] | None = None,
) -> Proposed:
    """One request per (leaf, distinct picked teacher), asking for ``count * proposals_per_teacher``
    samples of one step (``step``: its stop strings and token count). Consumes one draw of ``rng`` per request (its seed), leaves in order,
    teachers in id order within a leaf."""
    by_teacher: dict[int, list[tuple[int, GenerationRequest]]] = {}
    for row, prompt in enumerate(prompts):
        for teacher_id, count in zip(*np.unique(picks[row], return_counts=True)):
            request = GenerationRequest(
                prompt=prompt,
                n=int(count) * expansion.proposals_per_teacher,
                max_tokens=step.max_tokens(expansion.max_step_tokens),
                stop=step.stops,
                temperature=expansion.temperature if temperatures is None else temperatures[row],
                top_p=expansion.top_p,
                seed=int(rng.integers(2**31)),
            )
            by_teacher.setdefault(int(teacher_id), []).append((row, request))

    order = list(by_teacher)
    replies = await asyncio.gather(
        *(teachers[t].agenerate([r for _, r in by_teacher[t]]) for t in order), return_exceptions=True
    )
    proposed = Proposed(per_leaf=[[] for _ in prompts])
    for teacher_id, reply in zip(order, replies):
        if isinstance(reply, BaseException):
            if not isinstance(reply, Exception):
                raise reply
            proposed.failed[teacher_id] = reply
            proposed.failed_rows.update(row for row, _ in by_teacher[teacher_id])
            continue
        name = teachers[teacher_id].name
        for (row, _), proposals in zip(by_teacher[teacher_id], reply):
            proposed.calls[name] += 1
            proposed.tokens[name] += sum(p.num_tokens for p in proposals)
            proposed.per_leaf[row].extend((teacher_id, p) for p in proposals)
    return proposed
