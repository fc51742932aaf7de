"""Sampling baselines that the search is compared with, counted in the same generated tokens.

Both use the task's verifier the way the search does: a task counts as solved when any complete
response the method generated verifies (so best-of-n is pass@n, the strongest form of sampling).
Both are batched across tasks: each round sends one ``generate`` call carrying a row for every task
still unsolved (the HF teacher runs the rows as one batch). Accounting: :mod:`mcts.baselines.common`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcts.baselines.common import BaselineResult, Ledger, SampleLength, check_budget, verifies
from mcts.search import SearchTask
from mcts.types import GenerationRequest, Teacher


def greedy(teacher: Teacher, tasks: Sequence[SearchTask], *, max_tokens: int = 96) -> list[BaselineResult]:
    """One greedy completion per task (one call for all tasks)."""
    ledgers = [Ledger(t, i) for i, t in enumerate(tasks)]
    replies = teacher.generate([GenerationRequest(prompt=t.prompt, n=1, max_tokens=max_tokens, temperature=0.0) for t in tasks])
    for ledger, reply in zip(ledgers, replies):
        ledger.spend(reply)
        ledger.finish(verifies(ledger.task, reply[0].text))
    return [ledger.result() for ledger in ledgers]


def best_of_n_many(
    teachers: Sequence[Teacher],
    tasks: Sequence[SearchTask],
    *,
    token_budget: int,
    batch: int = 4,
    max_tokens: int = 96,
    temperature: float = 1.0,
    seed: int = 0,
) -> list[BaselineResult]:
    """Sample complete responses until one verifies or ``token_budget`` tokens are spent, per task.

    Round ``r`` asks ``teachers[r % len(teachers)]`` (one teacher: plain best-of-n; several: the
    round-robin union) for up to ``batch`` samples per unsolved task, in one call. n is therefore set
    by the budget, the same per-task generated-token budget the search gets. Seeds: task ``i`` in
    round ``r`` samples with ``seed + 1000 * i + r``; no global RNG is consumed.
    """
    check_budget(token_budget)
    if not teachers:
        raise ValueError("best_of_n_many needs at least one teacher")
    ledgers = [Ledger(t, i) for i, t in enumerate(tasks)]
    lengths = SampleLength(initial=max_tokens / 3)
    round_index = 0
    while active := [g for g in ledgers if not g.done]:
        teacher = teachers[round_index % len(teachers)]
        requests = []
        for g in active:
            remaining = token_budget - g.tokens
            requests.append(GenerationRequest(
                prompt=g.task.prompt, n=lengths.affordable(remaining, batch), max_tokens=min(max_tokens, remaining),
                temperature=temperature, seed=seed + 1000 * g.index + round_index,
            ))
        for g, proposals in zip(active, teacher.generate(requests)):
            lengths.add(proposals)
            before = g.tokens
            g.spend(proposals)  # every sample of the row counts, also those after a verified one
            if any(verifies(g.task, p.text) for p in proposals):
                g.finish(True)
            g.close_round(token_budget, before)
        round_index += 1
    return [g.result() for g in ledgers]


def best_of_n(teacher: Teacher, task: SearchTask, *, token_budget: int, **options) -> BaselineResult:
    """:func:`best_of_n_many` for one task and one teacher."""
    return best_of_n_many([teacher], [task], token_budget=token_budget, **options)[0]
