"""Asking the judge from a search: batched, off the event loop, and coalesced across concurrent searches.

A ``Judge`` is synchronous (``judge(states) -> verdicts``). :func:`ask_judge` runs it in a worker
thread so teacher calls of other searches can proceed meanwhile. Under :meth:`Searcher.search_many`
with ``concurrent > 1``, :class:`JudgeBackend` puts the judge behind the same request coalescer as the
teachers, so the new steps of every concurrent search reach the judge in one batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mcts.types import Judge, ScoredText


async def ask_judge(judge: Judge, states: Sequence[ScoredText]) -> list[float]:
    """The judge's verdicts for ``states`` (a coalesced judge batches them with other searches')."""
    batched = getattr(judge, "ajudge", None)
    if batched is not None:
        return list(await batched(states))
    return list(await asyncio.to_thread(judge.judge, states))


class JudgeBackend:
    """The judge as a coalescer backend: ``agenerate(states)`` returns one verdict per state."""

    name = "judge"

    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    async def agenerate(self, states: Sequence[ScoredText]) -> list[float]:
        return list(await asyncio.to_thread(self.judge.judge, list(states)))


class CoalescedJudge:
    """What one concurrent search sees as its judge: calls wait for the coalescer's next flush.
    ``tokens`` reads the shared judge's counter (a search's share is not separable in a batch)."""

    def __init__(self, judge: Judge, proxy) -> None:
        self._judge = judge
        self._proxy = proxy

    @property
    def tokens(self) -> int:
        return getattr(self._judge, "tokens", 0)

    def judge(self, states: Sequence[ScoredText]) -> Sequence[float]:
        return self._judge.judge(states)

    async def ajudge(self, states: Sequence[ScoredText]) -> list[float]:
        return list(await self._proxy.agenerate(states)) if states else []
