"""Many searches at once, one batched call per teacher (and per judge): request coalescing for
concurrent tasks. A backend is anything with ``name`` and ``async agenerate(items) -> list`` (one
answer per item): the teachers, and the judge through :class:`mcts.search.judging.JudgeBackend`.

A search asks a teacher for a few leaves at a time; a small local model spends most of such a call on
per-token overhead (the batch is tiny), and a server sees a trickle of small requests. When a run
searches several tasks concurrently, :class:`RequestCoalescer` holds every teacher request until
*every live search is waiting on a teacher*, then sends each teacher one call carrying all of them.

Deterministic on purpose: a flush happens only when no search can move, requests are ordered by
(search slot, submission order) before batching, and replies are handed back in that order, so the
batches a teacher sees, and the order in which searches resume, do not depend on thread timing.
(Backends whose samples depend on batch composition, like the HF teacher, stay reproducible.)

Usage: ``coalescer.wrap(teachers)`` gives proxies that searches use as teachers; each search runs in
``async with coalescer.search(slot):``. A teacher failure is raised to every search whose requests
were in the failed call (each benches that teacher, as it would have alone).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from mcts.types import GenerationRequest, Proposal, Teacher

_SLOT: contextvars.ContextVar[int | None] = contextvars.ContextVar("coalesce_slot", default=None)


@dataclass(order=True)
class _Held:
    slot: int
    seq: int
    requests: Sequence[GenerationRequest] = field(compare=False)
    reply: asyncio.Future = field(compare=False)


class RequestCoalescer:
    """Holds teacher requests from concurrent searches and flushes them as one call per teacher."""

    def __init__(self, teachers: Sequence[Teacher]) -> None:
        self._teachers = list(teachers)
        self._held: dict[int, list[_Held]] = {}
        self._outstanding: dict[int, int] = {}  # live search slot -> requests submitted, not yet answered
        self._seq = itertools.count()
        self._check_scheduled = False
        self._flushing = False
        self.calls = 0  # batched calls made (all teachers)

    def wrap(self) -> list[CoalescedTeacher]:
        """One proxy per teacher, in order; searches use these in place of the teachers."""
        return [CoalescedTeacher(self, i, t) for i, t in enumerate(self._teachers)]

    @asynccontextmanager
    async def search(self, slot: int) -> AsyncIterator[None]:
        """Registers one live search for the duration of the block (run it in its own task)."""
        if slot in self._outstanding:
            raise ValueError(f"search slot {slot} is already live")
        self._outstanding[slot] = 0
        token = _SLOT.set(slot)
        try:
            yield
        finally:
            _SLOT.reset(token)
            del self._outstanding[slot]
            self._schedule_check()  # one fewer search to wait for

    async def submit(self, teacher_index: int, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        slot = _SLOT.get()
        if slot is None or slot not in self._outstanding:
            # Outside a registered search (e.g. a warm-up call): no one to batch with.
            return await self._teachers[teacher_index].agenerate(requests)
        reply: asyncio.Future = asyncio.get_running_loop().create_future()
        self._held.setdefault(teacher_index, []).append(_Held(slot, next(self._seq), list(requests), reply))
        self._outstanding[slot] += 1
        self._schedule_check()
        try:
            return await reply
        finally:
            self._outstanding[slot] -= 1

    # -----------------------------------------------------------------------------------------

    def _schedule_check(self) -> None:
        # Checked on the next loop pass, not now: sibling tasks a search started in the same step
        # (``asyncio.gather`` over teachers) run first and add their requests to this flush.
        if not self._check_scheduled:
            self._check_scheduled = True
            asyncio.get_running_loop().call_soon(self._check)

    def _check(self) -> None:
        self._check_scheduled = False
        if self._flushing or not self._held:
            return
        if all(n > 0 for n in self._outstanding.values()):
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        held, self._held = self._held, {}
        batches = {t: sorted(held[t]) for t in sorted(held)}  # by (slot, seq): thread timing cannot reorder
        try:
            replies = await asyncio.gather(*(self._call(t, e) for t, e in batches.items()), return_exceptions=True)
        finally:
            self._flushing = False
        for (t, entries), reply in zip(batches.items(), replies):
            if isinstance(reply, BaseException):
                for e in entries:
                    if not e.reply.done():
                        e.reply.set_exception(reply)
                continue
            start = 0
            for e in entries:
                if not e.reply.done():
                    e.reply.set_result(reply[start : start + len(e.requests)])
                start += len(e.requests)
        self._schedule_check()  # requests that arrived during the flush

    async def _call(self, teacher_index: int, entries: list[_Held]) -> list[list[Proposal]]:
        self.calls += 1
        requests = [r for e in entries for r in e.requests]
        reply = await self._teachers[teacher_index].agenerate(requests)
        if len(reply) != len(requests):
            raise RuntimeError(
                f"teacher {self._teachers[teacher_index].name} answered {len(reply)} of {len(requests)} requests"
            )
        return reply


class CoalescedTeacher:
    """A teacher as seen by one of many concurrent searches: its requests wait for the next flush."""

    def __init__(self, coalescer: RequestCoalescer, index: int, teacher: Teacher) -> None:
        self._coalescer = coalescer
        self._index = index
        self.teacher = teacher
        self.name = teacher.name

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return self.teacher.generate(requests)

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        if not requests:
            return []
        return await self._coalescer.submit(self._index, requests)

    def close(self) -> None:
        self.teacher.close()

    def __repr__(self) -> str:
        return f"CoalescedTeacher({self.teacher!r})"
