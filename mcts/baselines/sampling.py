"""Sampling baselines that the search is compared with, counted in the same generated tokens.

Both use the task's verifier the way the search does: a task counts as solved when any complete
response the method generated verifies (so best-of-n is pass@n, the strongest form of sampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mcts.search import SearchTask, split_steps
from mcts.types import GenerationRequest, Teacher


@dataclass(frozen=True)
class BaselineResult:
    task_id: str
    solved: bool
    tokens: int
    calls: int
    samples: int


def _solved(task: SearchTask, text: str) -> bool:
    steps = split_steps(text)
    if not steps:
        return False
    return task.outcomes([steps])[0].solved


def greedy(teacher: Teacher, tasks: Sequence[SearchTask], *, max_tokens: int = 96) -> list[BaselineResult]:
    """One greedy completion per task (batched over tasks)."""
    requests = [GenerationRequest(prompt=t.prompt, n=1, max_tokens=max_tokens, temperature=0.0) for t in tasks]
    replies = teacher.generate(requests)
    return [
        BaselineResult(t.id, _solved(t, r[0].text), r[0].num_tokens, 1, 1) for t, r in zip(tasks, replies)
    ]


def best_of_n(
    teacher: Teacher,
    task: SearchTask,
    *,
    token_budget: int,
    batch: int = 4,
    max_tokens: int = 96,
    temperature: float = 1.0,
    seed: int = 0,
) -> BaselineResult:
    """Sample complete responses ``batch`` at a time until one verifies or ``token_budget`` is spent.

    n is therefore set by the budget: the same per-task generated-token budget the search gets.
    Consumes no global RNG: each batch's seed is ``seed + batch index``.
    """
    tokens = calls = samples = 0
    round_index = 0
    while tokens < token_budget:
        request = GenerationRequest(
            prompt=task.prompt, n=batch, max_tokens=max_tokens, temperature=temperature, seed=seed + round_index
        )
        (proposals,) = teacher.generate([request])
        calls += 1
        round_index += 1
        for p in proposals:
            tokens += p.num_tokens
            samples += 1
            if _solved(task, p.text):
                return BaselineResult(task.id, True, tokens, calls, samples)
    return BaselineResult(task.id, False, tokens, calls, samples)
