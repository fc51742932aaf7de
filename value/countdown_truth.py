"""The solver's truth for countdown states, for judging a value net (never for training one).

``reachable(prompt, steps)``: every step so far is valid and the numbers left can still make the
target (:func:`mcts.tasks.countdown_solver.is_solvable`); a finished path is reachable exactly when it
solved the puzzle. :func:`solver_metrics` ranks a net's predictions against these 0/1 labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mcts.tasks.countdown import Puzzle, apply_steps
from mcts.tasks.countdown_solver import is_solvable, puzzle_split
from value.calibration import roc_auc, spearman

_PROMPT = re.compile(r"Numbers:((?: \d+)+)\nTarget: (\d+)\n")
GAME_OF_24 = 24


def parse_prompt(prompt: str) -> Puzzle:
    """The puzzle a countdown prompt (``mcts.tasks.countdown.format_prompt``) states; ValueError otherwise."""
    match = _PROMPT.match(prompt)
    if match is None:
        raise ValueError(f"not a countdown prompt ('Numbers: ...\\nTarget: ...\\n'): {prompt[:60]!r}")
    return Puzzle("prompt", tuple(int(n) for n in match.group(1).split()), int(match.group(2)))


def reachable(prompt: str, steps: Sequence[str]) -> bool:
    """True when ``steps`` are all valid and the target can still be reached from what is left."""
    puzzle = parse_prompt(prompt)
    state = apply_steps(puzzle, steps)
    return not state.invalid and is_solvable(state.remaining, puzzle.target)


def is_training_side(numbers: Sequence[int], target: int) -> bool:
    """A puzzle may feed training data only when it is on the training side of the fixed split
    (:func:`mcts.tasks.countdown_solver.puzzle_split`) and so is its number set as a Game of 24:
    a puzzle with another target never brings a held-out Game-of-24 number set into training."""
    return puzzle_split(numbers, target) == "train" and (
        target == GAME_OF_24 or puzzle_split(numbers, GAME_OF_24) == "train"
    )


class HeldOutLeakError(ValueError):
    """Training data holds a puzzle (or number set) from the held-out side of the split."""


def check_training_side(prompts: Sequence[str]) -> None:
    """Raises :class:`HeldOutLeakError` naming the first prompt whose puzzle is not training-side."""
    for prompt in dict.fromkeys(prompts):
        puzzle = parse_prompt(prompt)
        if not is_training_side(puzzle.numbers, puzzle.target):
            raise HeldOutLeakError(
                f"puzzle {puzzle.numbers} -> {puzzle.target} is on the held-out side of the split; "
                "training data must come from generate_puzzles(..., split='train') puzzles only"
            )


@dataclass(frozen=True)
class SolverMetrics:
    """How well predictions rank states by the solver's truth: ``auc`` (probability that a reachable
    state scores above an unreachable one, ties half), ``spearman`` (rank correlation with the 0/1
    label), ``n`` states of which ``positive_rate`` are reachable."""

    n: int
    positive_rate: float
    auc: float
    spearman: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def solver_metrics(predictions: Sequence[float], labels: Sequence[bool | float]) -> SolverMetrics:
    """AUC and Spearman of ``predictions`` against 0/1 ``labels`` (aligned, length N >= 1)."""
    y = np.asarray(labels, dtype=np.float64)
    return SolverMetrics(int(y.size), float(y.mean()) if y.size else float("nan"),
                         roc_auc(predictions, y), spearman(predictions, y))


class SolverValueFn:
    """The solver's truth as a :class:`mcts.types.ValueFn` (1.0 reachable, else 0.0): the ceiling of a
    value net at the leaves, for diagnostics only (never a training signal)."""

    def value(self, states) -> list[float]:
        return [float(reachable(s.prompt, s.steps)) for s in states]
