"""Which context of the teacher weights a draw or a credit belongs to (``[search.weights] context``).

A step's context is read at the node it was drawn for (its parent), from the steps between the
task's start and that node: ``"none"`` is the global weights only (``NO_CONTEXT``); ``"depth"`` is
the number of those steps, the last context (``max_contexts - 1``) holding every deeper one;
``"task"`` asks the task's ``context(steps) -> int`` (countdown: the numbers still available),
which must lie in ``0..max_contexts - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcts.types import SearchTask
from mcts.weights import NO_CONTEXT


class StepContexts:
    """Context ids for one task's search; ``max_contexts`` is the weights' bound."""

    def __init__(self, mode: str, task: SearchTask, max_contexts: int) -> None:
        if mode == "task" and not callable(getattr(task, "context", None)):
            raise ValueError(
                f"weights.context = 'task' but task {task.id!r} ({type(task).__name__}) defines no context(steps); "
                "use 'depth' or 'none'"
            )
        self.mode, self.task, self.max_contexts = mode, task, max_contexts

    @property
    def on(self) -> bool:
        return self.mode != "none"

    def at(self, steps: Sequence[str]) -> int:
        """The context of a draw at the node reached by ``steps`` (from the task's start)."""
        if self.mode == "none":
            return NO_CONTEXT
        if self.mode == "depth":
            return min(len(steps), self.max_contexts - 1)
        context = self.task.context(steps)  # type: ignore[attr-defined]
        if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or not 0 <= context < self.max_contexts:
            raise ValueError(
                f"task {self.task.id!r}: context(steps) returned {context!r}, not an int in 0..{self.max_contexts - 1}; "
                "raise weights.max_contexts or fix the task's context"
            )
        return int(context)

    def of_path(self, before: Sequence[str], actions: Sequence[str]) -> list[int]:
        """The context each of ``actions`` was drawn in, after the steps ``before``."""
        return [self.at([*before, *actions[:j]]) for j in range(len(actions))]
