"""What one task's search has spent: simulations, generated tokens (exact), calls, judge, time."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from mcts.search.config import Budget


@dataclass
class SearchUsage:
    """Counters for one task's search. ``tokens`` counts generated tokens only (never prompt tokens),
    proposals and rollouts alike; ``calls`` counts requests per teacher."""

    simulations: int = 0
    tokens: int = 0
    rollout_tokens: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    tokens_per_teacher: Counter[str] = field(default_factory=Counter)
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

    def add(self, tokens: Counter[str], calls: Counter[str], *, rollout: bool = False) -> None:
        """Adds a stage's spending (tokens and requests per teacher name)."""
        self.calls.update(calls)
        self.tokens_per_teacher.update(tokens)
        spent = sum(tokens.values())
        self.tokens += spent
        if rollout:
            self.rollout_tokens += spent
