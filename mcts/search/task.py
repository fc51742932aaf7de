"""What the search needs to know about a task: its prompt, and how a path of steps ends and scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class StepOutcome:
    """The task's verdict on a path after its latest step.

    ``reward`` is the immediate reward of that step (the hard terminal reward on a terminal step),
    ``solved`` is True only on a terminal step that the task's verifier accepts.
    """

    terminal: bool
    reward: float
    solved: bool = False
    components: tuple[tuple[str, float], ...] = ()


@runtime_checkable
class SearchTask(Protocol):
    """One problem to search on.

    ``outcomes`` is batched: it receives many step sequences (each the whole path so far, root to the
    new node) and returns one ``StepOutcome`` each. It must accept any text (model output is untrusted).

    A task may also carry ``return_range = (low, high)``, the range its path returns are known to lie
    in (0..1 for a pass/fail verifier); the tree then normalises Q against it from the first backup,
    so a failed path scores as a failure rather than as "no spread yet" (see ``Tree.include_q_range``).
    """

    id: str
    prompt: str
    reference: str | None

    def outcomes(self, paths: Sequence[Sequence[str]]) -> list[StepOutcome]: ...


def split_steps(text: str, delimiter: str = "\n") -> list[str]:
    """Cut generated text into steps, each keeping its delimiter; a trailing partial step stays."""
    parts = text.split(delimiter)
    steps = [p + delimiter for p in parts[:-1] if p.strip()]
    if parts[-1].strip():
        steps.append(parts[-1])
    return steps
