"""What every baseline shares: the per-task result, the per-task ledger, budget planning, judging.

Every method is counted the same way: ``tokens`` are generated tokens only (``Proposal.num_tokens``,
never prompt tokens), summed over every proposal the method asked for, used or not; ``calls`` are
the teacher requests (rows) made for the task; ``judge_calls`` the judge batches the task took part
in, ``judge_tokens`` its share of the tokens the judge was fed (split by states, when the judge
reports a ``tokens`` counter), ``seconds`` the wall time from the method's start until the task was
finished (batched methods work on every task at once, so the per-task times overlap).

Batched methods plan each round within the budget left: a task with ``R`` tokens left asks for at
most ``max(1, R // e)`` samples, ``e`` the mean length of the samples seen so far, each capped at
``R`` tokens, so the last round overshoots the budget by little (MCTS overshoots by one iteration).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mcts.search import SearchTask, split_steps
from mcts.types import GenerationRequest, Judge, Proposal, ScoredText, Teacher


@dataclass(frozen=True)
class BaselineResult:
    task_id: str
    solved: bool
    tokens: int
    calls: int
    samples: int
    judge_calls: int = 0
    judge_tokens: int = 0
    seconds: float = 0.0


@dataclass
class Ledger:
    """One task's running account while a batched method works on it."""

    task: SearchTask
    index: int
    started: float = field(default_factory=time.perf_counter)
    tokens: int = 0
    calls: int = 0
    samples: int = 0
    judge_calls: int = 0
    judge_tokens: float = 0.0
    solved: bool = False
    finished_at: float | None = None
    idle_rounds: int = 0

    def spend(self, proposals: Sequence[Proposal]) -> None:
        self.calls += 1
        self.samples += len(proposals)
        self.tokens += sum(p.num_tokens for p in proposals)

    def finish(self, solved: bool = False) -> None:
        self.solved = self.solved or solved
        if self.finished_at is None:
            self.finished_at = time.perf_counter()

    def close_round(self, token_budget: int, tokens_before: int, max_idle: int = 3) -> None:
        """End of a round: finish when the budget is spent, or after ``max_idle`` rounds in a row
        that generated nothing (a teacher that only ever ends at once would otherwise loop forever)."""
        self.idle_rounds = self.idle_rounds + 1 if self.tokens == tokens_before else 0
        if not self.done and (self.tokens >= token_budget or self.idle_rounds >= max_idle):
            self.finish()

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    def result(self) -> BaselineResult:
        end = self.finished_at if self.finished_at is not None else time.perf_counter()
        return BaselineResult(
            self.task.id, self.solved, self.tokens, self.calls, self.samples,
            self.judge_calls, round(self.judge_tokens), end - self.started,
        )


def check_budget(token_budget: int) -> None:
    if not isinstance(token_budget, int) or token_budget < 1:
        raise ValueError(f"token_budget must be a positive integer, got {token_budget!r}")


class SampleLength:
    """Running mean of generated tokens per sample, for planning a round within the budget."""

    def __init__(self, initial: float) -> None:
        self.total, self.count, self.initial = 0, 0, initial

    def add(self, proposals: Sequence[Proposal]) -> None:
        self.total += sum(p.num_tokens for p in proposals)
        self.count += len(proposals)

    @property
    def mean(self) -> float:
        return max(1.0, self.total / self.count) if self.count else self.initial

    def affordable(self, remaining: int, cap: int) -> int:
        """How many samples (1..cap) a task with ``remaining`` tokens left asks for this round."""
        return max(1, min(cap, int(remaining // self.mean)))


def generate_by_teacher(
    teachers: Sequence[Teacher], requests: Mapping[int, Sequence[GenerationRequest]]
) -> dict[int, list[list[Proposal]]]:
    """One ``generate`` call per teacher index in ``requests`` (rows for every task in the round)."""
    return {t: teachers[t].generate(list(rows)) if rows else [] for t, rows in requests.items()}


def verifies(task: SearchTask, text: str) -> bool:
    """Whether a complete response verifies (the task's last-step verdict)."""
    steps = split_steps(text)
    return bool(steps) and task.outcomes([steps])[0].solved


class JudgeMeter:
    """Calls a ``Judge`` once per round for every task's states and books its cost on the tasks."""

    def __init__(self, judge: Judge | None) -> None:
        self.judge = judge
        self.calls = 0
        self.seconds = 0.0

    def score(self, batch: Sequence[tuple[Ledger, ScoredText]]) -> list[float]:
        """A score in [-1, 1] per state (all 0 without a judge); raises naming a bad judge value."""
        if self.judge is None or not batch:
            return [0.0] * len(batch)
        before = getattr(self.judge, "tokens", 0)
        started = time.perf_counter()
        scores = [float(v) for v in self.judge.judge([state for _, state in batch])]
        self.seconds += time.perf_counter() - started
        self.calls += 1
        if len(scores) != len(batch):
            raise ValueError(f"the judge returned {len(scores)} scores for {len(batch)} states")
        bad = [v for v in scores if not -1.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"judge scores must lie in [-1, 1], got {bad[0]!r}")
        fed = getattr(self.judge, "tokens", 0) - before
        involved: dict[int, Ledger] = {id(ledger): ledger for ledger, _ in batch}
        for ledger in involved.values():
            ledger.judge_calls += 1
        for ledger, _ in batch:
            ledger.judge_tokens += fed / len(batch)
        return scores
