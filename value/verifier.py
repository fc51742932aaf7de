"""A task's verifier as a hard terminal reward, one component of the reward ensemble.

The verifier itself belongs to the task (e.g. the countdown verifier in ``mcts.tasks``); this module
only turns ``verify(state) -> bool`` into a reward, so ``value`` never imports a task.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from mcts.types import ScoredText


class VerifierReward:
    """``RewardFn``: ``solved_reward`` when ``verify_fn(state)`` says solved, else ``unsolved_reward``.

    Key ``verifier``. ``verify_fn`` returns a bool, or a verdict object with a bool ``solved``
    attribute (e.g. ``lambda s: countdown.verify(puzzle, s.response)``). Model output is untrusted:
    the verifier parses it, never evaluates it. The search applies this at terminal nodes; on a
    partial path it simply reports "not solved yet".
    """

    name = "verifier"
    keys = ("verifier",)

    def __init__(
        self,
        verify_fn: Callable[[ScoredText], Any],
        *,
        solved_reward: float = 1.0,
        unsolved_reward: float = 0.0,
    ) -> None:
        if not callable(verify_fn):
            raise TypeError(f"VerifierReward needs a callable verify_fn(state) -> bool, got {verify_fn!r}")
        for label, value in (("solved_reward", solved_reward), ("unsolved_reward", unsolved_reward)):
            if not math.isfinite(value):
                raise ValueError(f"VerifierReward {label} must be finite, got {value}")
        self.verify_fn = verify_fn
        self.solved_reward = float(solved_reward)
        self.unsolved_reward = float(unsolved_reward)

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        out = []
        for state in states:
            verdict = self.verify_fn(state)
            solved = getattr(verdict, "solved", verdict)
            if not isinstance(solved, bool):
                raise TypeError(
                    f"verify_fn must return a bool or an object with a bool .solved, got {verdict!r} "
                    f"for task {state.task_id!r}"
                )
            out.append({"verifier": self.solved_reward if solved else self.unsolved_reward})
        return out
