"""The built-in countdown task: reach a target from given numbers with + - * /, each number used once.

Game of 24 is the case ``target=24`` with four numbers in 1..13.

Text format (what the bundled models read and write)::

    Numbers: 4 7 8 8          <- prompt: format_prompt(puzzle)
    Target: 24
    8-4=4 (left: 7 8 4)       <- one step per line (STEP_DELIMITER = "\\n")
    7-4=3 (left: 8 3)
    8*3=24 (left: 24)         <- the last step leaves one number: the target
    <eos>

A step is ``A OP B = C`` optionally followed by ``(left: ...)``, the numbers still available after
it. Rules, checked by :func:`apply_steps` and :func:`verify`:

- ``A`` and ``B`` must be available (each number is used once; a repeated number can be used as
  often as it appears). ``OP`` is ``+ - * /``; ``x``, ``X``, ``×``, ``÷`` and ``−`` are accepted.
- ``C`` must be the exact value (``fractions.Fraction`` arithmetic). Every value is a non-negative
  integer: a division by zero, a non-integer quotient (``7/2``) or a negative difference (``4-8``)
  makes the step invalid. So puzzles like ``3 3 8 8`` that need fractions are not solvable here and
  the generator never produces them.
- ``(left: ...)`` when present must equal the true remaining numbers as a multiset (any order; the
  canonical order, used by :func:`format_step`, keeps the unused numbers in place and appends C).
- Each valid step removes two numbers and adds one, so a puzzle of ``k`` numbers ends after
  ``k - 1`` steps. It is solved when the one number left equals the target and nothing but blank
  lines follows.

Model output is untrusted: it is parsed by :mod:`mcts.tasks.arithmetic` (never evaluated) and every
malformed input yields an invalid verdict, never an exception out of :func:`verify`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mcts.files import read_json_objects
from mcts.tasks.arithmetic import ParsedStep, StepParseError, apply_op, integer_result, parse_step

STEP_DELIMITER = "\n"
# Bounds on what a puzzle may hold: the solver is exponential in the count of numbers.
MAX_NUMBERS = 8
MAX_VALUE = 10**9


@dataclass(frozen=True)
class Puzzle:
    """One countdown puzzle. ``numbers`` are non-negative integers (2..8 of them); ``target`` too."""

    id: str
    numbers: tuple[int, ...]
    target: int

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"Puzzle.id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.numbers, tuple) or not all(_is_count(n) for n in self.numbers):
            raise ValueError(
                f"Puzzle {self.id!r}: numbers must be a tuple of integers in 0..{MAX_VALUE}, got {self.numbers!r}"
            )
        if not 2 <= len(self.numbers) <= MAX_NUMBERS:
            raise ValueError(f"Puzzle {self.id!r}: needs 2..{MAX_NUMBERS} numbers, got {len(self.numbers)}")
        if not _is_count(self.target):
            raise ValueError(f"Puzzle {self.id!r}: target must be an integer in 0..{MAX_VALUE}, got {self.target!r}")

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "numbers": list(self.numbers), "target": self.target}


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_VALUE


class PuzzleFileError(ValueError):
    """A puzzle JSONL file with a bad row; the message names the file, the line and the field."""


def load_puzzles(path: str | Path) -> list[Puzzle]:
    """Read JSONL rows ``{"id": str, "numbers": [int, ...], "target": int}``; blank lines are skipped.

    Raises :class:`PuzzleFileError` naming the file, line number and bad field, also for duplicate ids.
    """
    path = Path(path)
    puzzles: list[Puzzle] = []
    seen: dict[str, str] = {}
    for where, row in read_json_objects(path, PuzzleFileError, "puzzle file"):
        puzzle = _puzzle_from_row(row, where)
        if puzzle.id in seen:
            raise PuzzleFileError(f"{where}: field 'id': {puzzle.id!r} repeats line {seen[puzzle.id]}; ids must be unique")
        seen[puzzle.id] = where.rsplit(":", 1)[1]
        puzzles.append(puzzle)
    if not puzzles:
        raise PuzzleFileError(f"{path}: no puzzles (expected JSONL rows like {{\"id\": \"p1\", \"numbers\": [4, 7, 8, 8], \"target\": 24}})")
    return puzzles


def _puzzle_from_row(row: dict, where: str) -> Puzzle:
    for field in ("id", "numbers", "target"):
        if field not in row:
            raise PuzzleFileError(f"{where}: missing field {field!r}")
    if not isinstance(row["id"], str) or not row["id"]:
        raise PuzzleFileError(f"{where}: field 'id' must be a non-empty string, got {row['id']!r}")
    numbers = row["numbers"]
    if not isinstance(numbers, list) or not all(_is_count(n) for n in numbers):
        raise PuzzleFileError(f"{where}: field 'numbers' must be a list of integers in 0..{MAX_VALUE}, got {numbers!r}")
    if not 2 <= len(numbers) <= MAX_NUMBERS:
        raise PuzzleFileError(f"{where}: field 'numbers' must hold 2..{MAX_NUMBERS} numbers, got {len(numbers)}")
    if not _is_count(row["target"]):
        raise PuzzleFileError(f"{where}: field 'target' must be an integer in 0..{MAX_VALUE}, got {row['target']!r}")
    return Puzzle(row["id"], tuple(numbers), row["target"])


def dump_puzzles(puzzles: Iterable[Puzzle], path: str | Path) -> None:
    """Write puzzles as JSONL (the format :func:`load_puzzles` reads)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for puzzle in puzzles:
            handle.write(json.dumps(puzzle.to_json()) + "\n")


# --------------------------------------------------------------------------------------------
# Text format.
# --------------------------------------------------------------------------------------------


def format_prompt(puzzle: Puzzle) -> str:
    """``"Numbers: 4 7 8 8\\nTarget: 24\\n"``: the text every response continues."""
    return f"Numbers: {' '.join(map(str, puzzle.numbers))}\nTarget: {puzzle.target}\n"


def format_step(left: int, op: str, right: int, available: Sequence[int]) -> str:
    """The canonical line for ``left op right`` taken from ``available`` (ends with the delimiter).

    Raises ``ValueError`` if the operands are not available or the result is not a non-negative
    integer; the solver and the training-data generator only write valid steps.
    """
    result = integer_result(left, op, right)
    if result is None:
        raise ValueError(f"{left}{op}{right} is not a non-negative integer")
    remaining = _remove_operands(tuple(available), left, right)
    if remaining is None:
        raise ValueError(f"{left} and {right} are not both available in {tuple(available)}")
    left_list = " ".join(map(str, (*remaining, result)))
    return f"{left}{op}{right}={result} (left: {left_list}){STEP_DELIMITER}"


def split_steps(response_text: str) -> list[str]:
    """Split a response into step lines (without delimiters); one trailing delimiter is not a step."""
    if response_text.endswith(STEP_DELIMITER):
        response_text = response_text[: -len(STEP_DELIMITER)]
    return response_text.split(STEP_DELIMITER) if response_text else []


def _remove_operands(available: tuple[int, ...], left: int, right: int) -> tuple[int, ...] | None:
    rest = list(available)
    for operand in (left, right):
        if operand not in rest:
            return None
        rest.remove(operand)
    return tuple(rest)


# --------------------------------------------------------------------------------------------
# Applying steps, terminal detection, verification.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountdownState:
    """Where a path of steps leads. ``remaining`` are the numbers still available (canonical order).

    ``valid_steps`` counts the steps applied before the first invalid one; ``error`` says why that
    step was invalid (``None`` when every step was valid).
    """

    remaining: tuple[int, ...]
    valid_steps: int
    error: str | None = None

    @property
    def invalid(self) -> bool:
        return self.error is not None

    def reached(self, target: int) -> bool:
        """True when no step was invalid and exactly ``target`` is left."""
        return self.error is None and self.remaining == (target,)


def check_step(available: tuple[int, ...], step: ParsedStep) -> tuple[tuple[int, ...], str | None]:
    """Apply one parsed step to ``available``: ``(remaining, None)`` or ``(available, why_invalid)``."""
    if len(available) < 2:
        return available, "no step is possible: only one number is left"
    rest = _remove_operands(available, step.left, step.right)
    if rest is None:
        return available, f"{step.left} and {step.right} are not both available (left: {_show(available)})"
    expression = f"{step.left}{step.op}{step.right}"
    exact = apply_op(step.left, step.op, step.right)
    if exact is None:
        return available, f"{expression}: division by zero"
    if exact.denominator != 1 or exact < 0:
        return available, f"{expression} is {exact}: values must be non-negative integers"
    value = int(exact)
    if value != step.result:
        return available, f"wrong arithmetic: {step.left}{step.op}{step.right} is {value}, not {step.result}"
    remaining = (*rest, value)
    if step.remaining is not None and sorted(step.remaining) != sorted(remaining):
        return available, f"the left list ({_show(step.remaining)}) should be ({_show(remaining)})"
    return remaining, None


def _show(numbers: Sequence[int]) -> str:
    return " ".join(map(str, numbers))


def apply_steps(puzzle: Puzzle, steps: Sequence[str]) -> CountdownState:
    """Apply step lines (with or without their trailing delimiter) in order; stops at the first invalid one.

    Never raises on model text: a line that does not parse is an invalid step with the parser's reason.
    """
    available = puzzle.numbers
    for index, line in enumerate(steps):
        try:
            parsed = parse_step(line)
        except StepParseError as exc:
            return CountdownState(available, index, f"step {index + 1}: {exc}")
        available, error = check_step(available, parsed)
        if error is not None:
            return CountdownState(available, index, f"step {index + 1}: {error}")
    return CountdownState(available, len(steps))


def max_steps(puzzle: Puzzle) -> int:
    """Steps a complete response takes: each valid step turns two numbers into one."""
    return len(puzzle.numbers) - 1


def is_terminal(puzzle: Puzzle, steps: Sequence[str], max_steps_allowed: int | None = None) -> bool:
    """A path ends when one number is left, a step is invalid, or ``max_steps_allowed`` steps were taken.

    ``max_steps_allowed`` defaults to :func:`max_steps` (the two coincide for valid paths).
    """
    limit = max_steps(puzzle) if max_steps_allowed is None else max_steps_allowed
    if len(steps) >= limit:
        return True
    state = apply_steps(puzzle, steps)
    return state.invalid or len(state.remaining) <= 1


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer. ``valid_steps`` counts valid steps before the first invalid one."""

    solved: bool
    valid_steps: int
    reason: str


def verify(puzzle: Puzzle, response_text: str) -> Verdict:
    """Check a whole response (the text after the prompt). Never raises on any string input."""
    if not isinstance(response_text, str):
        return Verdict(False, 0, f"the response must be text, got {type(response_text).__name__}")
    try:
        return _verify(puzzle, response_text)
    except Exception as exc:  # noqa: BLE001 - the verifier's contract: untrusted text never escapes as an exception
        return Verdict(False, 0, f"unverifiable response ({type(exc).__name__})")


def _verify(puzzle: Puzzle, response_text: str) -> Verdict:
    lines = split_steps(response_text.rstrip(" \t\r\n") + STEP_DELIMITER) if response_text.strip() else []
    needed = max_steps(puzzle)
    state = apply_steps(puzzle, lines[:needed])
    if state.error is not None:
        return Verdict(False, state.valid_steps, state.error)
    if len(lines) < needed:
        return Verdict(False, state.valid_steps, f"incomplete: {len(lines)} of {needed} steps (left: {_show(state.remaining)})")
    if len(lines) > needed:
        return Verdict(False, state.valid_steps, f"text after the final step: {lines[needed][:40]!r}")
    if state.remaining != (puzzle.target,):
        return Verdict(False, state.valid_steps, f"ended at {state.remaining[0]}, not the target {puzzle.target}")
    return Verdict(True, state.valid_steps, "solved")


def solve_rate(verdicts: Iterable[Verdict]) -> float:
    """Fraction of solved verdicts (0.0 for none)."""
    verdicts = list(verdicts)
    return math.fsum(v.solved for v in verdicts) / len(verdicts) if verdicts else 0.0
