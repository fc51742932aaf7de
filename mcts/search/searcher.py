"""The public entry point: a :class:`Searcher` holds teachers, their weights and a judge across tasks.

    from mcts import Searcher, SearchConfig
    searcher = Searcher(teachers, SearchConfig())
    result = searcher.search(task)                       # one task
    results = searcher.search_many(tasks, concurrent=8)  # many, their teacher calls batched

The teacher weights are shared by every search of one ``Searcher``: the ensemble learns which
teachers to trust across the data set. With ``concurrent > 1`` several searches run at once and their
teacher requests are coalesced (:mod:`mcts.search.coalesce`), reproducibly for a given setting.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Sequence

from mcts.search.bench import TeacherBench
from mcts.search.coalesce import RequestCoalescer
from mcts.search.config import SearchConfig
from mcts.search.credit import ReturnRange
from mcts.search.engine import TaskSearch
from mcts.search.evaluate import LeafEvaluator
from mcts.search.judging import CoalescedJudge, JudgeBackend
from mcts.types import Judge, SearchResult, SearchTask, Teacher, TerminalValidator
from mcts.weights import TeacherWeights

# Called with each finished result as it arrives; returning False stops the remaining tasks.
OnResult = Callable[[int, SearchResult], bool | None]


class Searcher:
    """Searches tasks with one set of teachers, shared dynamic weights, and an optional judge.

    ``weights`` defaults to fresh weights built from ``config.weights`` over the teachers' names
    (seeded with ``config.seed``). ``evaluator`` is the leaf evaluator (default: rollouts as
    ``config.evaluation`` says); a factory ``Callable[[], LeafEvaluator]`` gives each search its own.
    ``validator`` ends a path when it calls the response final (``terminal.validator``).
    """

    def __init__(
        self,
        teachers: Sequence[Teacher],
        config: SearchConfig | None = None,
        *,
        weights: TeacherWeights | None = None,
        judge: Judge | None = None,
        evaluator: LeafEvaluator | Callable[[], LeafEvaluator] | None = None,
        validator: TerminalValidator | None = None,
    ) -> None:
        if not teachers:
            raise ValueError("a Searcher needs at least one teacher")
        self.teachers = list(teachers)
        self.config = config or SearchConfig()
        self.weights = weights if weights is not None else self.config.weights.build([t.name for t in teachers], self.config.seed)
        if list(self.weights.names) != [t.name for t in self.teachers]:
            raise ValueError(f"the weights know {list(self.weights.names)} but the teachers are {[t.name for t in self.teachers]}")
        self.judge = judge
        self.validator = validator
        # Failed teachers stay benched across this searcher's tasks (probed now and then).
        self.bench = TeacherBench([t.name for t in self.teachers], self.config.probe_every)
        # The range of path returns seen, for tasks that know none (credit outcomes in [0, 1]).
        self.returns = ReturnRange()
        self._evaluator = evaluator

    def _new_evaluator(self) -> LeafEvaluator | None:
        if self._evaluator is None or hasattr(self._evaluator, "evaluate"):
            return self._evaluator  # type: ignore[return-value]
        return self._evaluator()

    def search(self, task: SearchTask, *, seed: int | None = None) -> SearchResult:
        """Search one task (``seed`` defaults to ``config.seed``); runs its own event loop."""
        return asyncio.run(self.search_async(task, seed=seed))

    async def search_async(
        self, task: SearchTask, *, seed: int | None = None, teachers: Sequence[Teacher] | None = None,
        judge: Judge | None = None,
    ) -> SearchResult:
        """The coroutine behind :meth:`search`; ``teachers`` and ``judge`` may be proxies of this
        searcher's (same names and order), e.g. the coalescer's."""
        return await self.start(task, seed=seed, teachers=teachers, judge=judge).run()

    def start(
        self, task: SearchTask, *, seed: int | None = None, teachers: Sequence[Teacher] | None = None,
        judge: Judge | None = None,
    ) -> TaskSearch:
        """A search of ``task`` that has not run yet: step it with ``await search.iterate()``, commit
        to a node with ``search.reroot(node)``, read ``search.tree`` and ``search.result()``."""
        config = self.config if seed is None else dataclasses.replace(self.config, seed=seed)
        return TaskSearch(
            task, teachers or self.teachers, self.weights, config, evaluator=self._new_evaluator(),
            judge=judge or self.judge, validator=self.validator, bench=self.bench, returns=self.returns,
        )

    def search_many(
        self,
        tasks: Iterable[SearchTask],
        *,
        concurrent: int = 1,
        seeds: Callable[[int], int] | None = None,
        on_result: OnResult | None = None,
    ) -> list[SearchResult]:
        """Search every task; see :meth:`search_many_async`."""
        return asyncio.run(self.search_many_async(tasks, concurrent=concurrent, seeds=seeds, on_result=on_result))

    async def search_many_async(
        self,
        tasks: Iterable[SearchTask],
        *,
        concurrent: int = 1,
        seeds: Callable[[int], int] | None = None,
        on_result: OnResult | None = None,
    ) -> list[SearchResult]:
        """Search the tasks, ``concurrent`` at a time, in task order per worker slot.

        ``seeds(i)`` gives task ``i``'s search seed (default: ``config.seed`` for every task).
        ``on_result(i, result)`` is called as each task finishes (for incremental saving); when it
        returns False no new task starts. Returns the finished results in task order.
        """
        if concurrent < 1:
            raise ValueError(f"concurrent must be >= 1, got {concurrent}")
        todo = list(enumerate(tasks))
        results: dict[int, SearchResult] = {}
        queue = iter(todo)
        stop = False
        coalescer = proxies = judge = None
        if concurrent > 1 and len(todo) > 1:
            # The judge sits behind the coalescer too: one batch for every concurrent search's new steps.
            backends = [*self.teachers, *([JudgeBackend(self.judge)] if self.judge is not None else [])]
            coalescer = RequestCoalescer(backends)
            proxies = coalescer.wrap()
            if self.judge is not None:
                judge = CoalescedJudge(self.judge, proxies.pop())

        async def worker(slot: int) -> None:
            nonlocal stop
            for index, task in queue:
                if stop:
                    return
                seed = seeds(index) if seeds else None
                if coalescer is None:
                    result = await self.search_async(task, seed=seed)
                else:
                    async with coalescer.search(slot):
                        result = await self.search_async(task, seed=seed, teachers=proxies, judge=judge)
                results[index] = result
                if on_result is not None and on_result(index, result) is False:
                    stop = True
                    return

        await asyncio.gather(*(worker(slot) for slot in range(max(1, min(concurrent, len(todo))))))
        return [results[i] for i in sorted(results)]
