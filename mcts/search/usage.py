"""What a search has spent: simulations, generated tokens (exact), calls, time."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from mcts.search.config import Budget


@dataclass
class Usage:
    """Counters for one task's search. ``tokens`` counts generated tokens only (never prompt tokens)."""

    simulations: int = 0
    tokens: int = 0
    rollout_tokens: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    tokens_per_teacher: Counter[str] = field(default_factory=Counter)
    judge_calls: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def exhausted(self, budget: Budget) -> str | None:
        """The name of the first budget limit reached, or None while the search may go on."""
        if budget.simulations is not None and self.simulations >= budget.simulations:
            return "simulations"
        if budget.tokens is not None and self.tokens >= budget.tokens:
            return "tokens"
        if budget.seconds is not None and self.seconds >= budget.seconds:
            return "seconds"
        return None

    def record(self, teacher: str, tokens: int, *, rollout: bool = False) -> None:
        self.calls[teacher] += 1
        self.tokens += tokens
        self.tokens_per_teacher[teacher] += tokens
        if rollout:
            self.rollout_tokens += tokens
