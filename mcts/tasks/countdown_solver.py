"""Exact solver and seeded generator for countdown puzzles (rules in :mod:`mcts.tasks.countdown`).

The solver searches over multisets of remaining numbers, with the same exact (``Fraction``)
arithmetic as the verifier, and remembers which multisets can still reach a target. The generator
draws numbers with a seeded ``random.Random`` and keeps only solvable puzzles; with ``hard=True``
only puzzles where few first moves keep the target reachable (:data:`HARD_MAX_WINNING_FIRST_MOVES`).
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from mcts.tasks.arithmetic import CANONICAL_OPERATORS, integer_result
from mcts.tasks.countdown import MAX_NUMBERS, MAX_VALUE, Puzzle, format_step

Move = tuple[int, str, int]  # (left, op, right)
Split = Literal["any", "train", "heldout"]


def legal_moves(available: Sequence[int]) -> list[Move]:
    """Every distinct valid step from ``available``, in a fixed order (``+``/``*`` once per pair)."""
    moves: list[Move] = []
    seen: set[Move] = set()
    for i, left in enumerate(available):
        for j, right in enumerate(available):
            if i == j:
                continue
            for op in CANONICAL_OPERATORS:
                if op in "+*" and left > right:
                    continue  # commutative: keep one order
                move = (left, op, right)
                if move not in seen and integer_result(left, op, right) is not None:
                    seen.add(move)
                    moves.append(move)
    return moves


def after_move(available: Sequence[int], move: Move) -> tuple[int, ...]:
    """The remaining numbers after a legal move, in canonical order (unused in place, result last)."""
    left, op, right = move
    rest = list(available)
    rest.remove(left)
    rest.remove(right)
    result = integer_result(left, op, right)
    assert result is not None, f"{move} is not a legal move"
    return (*rest, result)


@lru_cache(maxsize=1 << 14)
def _reachable(sorted_numbers: tuple[int, ...]) -> frozenset[int]:
    # Every value a full sequence of steps can leave; independent of the target, so one entry
    # serves every target drawn for the same numbers.
    if len(sorted_numbers) == 1:
        return frozenset(sorted_numbers)
    values: set[int] = set()
    for move in legal_moves(sorted_numbers):
        values |= _reachable(tuple(sorted(after_move(sorted_numbers, move))))
    return frozenset(values)


# Up to this many numbers, whole reachable sets are cached (small: at most a few thousand values); above
# it the search is directed at one target and stops at the first success.
_REACHABLE_SET_MAX_NUMBERS = 4


@lru_cache(maxsize=1 << 18)
def _solvable(sorted_numbers: tuple[int, ...], target: int) -> bool:
    if len(sorted_numbers) <= _REACHABLE_SET_MAX_NUMBERS:
        return target in _reachable(sorted_numbers)
    return any(
        _solvable(tuple(sorted(after_move(sorted_numbers, move))), target) for move in legal_moves(sorted_numbers)
    )


def is_solvable(numbers: Sequence[int], target: int) -> bool:
    """Whether some sequence of valid steps leaves exactly ``target``."""
    return _solvable(tuple(sorted(numbers)), target)


def solve(numbers: Sequence[int], target: int, rng: random.Random | None = None) -> list[str] | None:
    """One solution as step lines (each ending in ``"\\n"``), or ``None`` if there is none.

    Deterministic without ``rng`` (the first winning move in :func:`legal_moves` order); with
    ``rng`` each step is drawn uniformly among the moves that keep the puzzle solvable (consumes
    the generator), which gives varied solutions for training data.
    """
    available = tuple(numbers)
    if not is_solvable(available, target):
        return None
    steps: list[str] = []
    while len(available) > 1:
        winning = [m for m in legal_moves(available) if is_solvable(after_move(available, m), target)]
        move = rng.choice(winning) if rng is not None else winning[0]
        steps.append(format_step(*move, available))
        available = after_move(available, move)
    return steps


# A puzzle is "hard" when at most this many of its distinct first moves (:func:`legal_moves`) can still
# reach the target: a search must find one of a few good openings, as in the 100 hard Game-of-24
# puzzles of Tree of Thoughts (Yao et al. 2023, arXiv 2305.10601). Of the 240 solvable held-out
# Game-of-24 number sets, 29 have 1 winning first move, 48 have 2 and 36 have 3 (of typically about 15
# legal first moves): a threshold of 3 leaves 113, enough for the 100-puzzle benchmark.
HARD_MAX_WINNING_FIRST_MOVES = 3


def winning_first_moves(numbers: Sequence[int], target: int) -> list[Move]:
    """The distinct first moves after which ``target`` can still be reached (empty if unsolvable)."""
    available = tuple(numbers)
    return [m for m in legal_moves(available) if is_solvable(after_move(available, m), target)]


def is_hard(numbers: Sequence[int], target: int) -> bool:
    """Solvable, with at most :data:`HARD_MAX_WINNING_FIRST_MOVES` winning first moves."""
    return 1 <= len(winning_first_moves(numbers, target)) <= HARD_MAX_WINNING_FIRST_MOVES


def puzzle_split(numbers: Sequence[int], target: int) -> Literal["train", "heldout"]:
    """A fixed 80/20 split of puzzles by a hash of (sorted numbers, target).

    The bundled models are trained on ``"train"`` puzzles only, so solve rates measured on
    ``"heldout"`` puzzles show generalisation rather than memory.
    """
    key = " ".join(map(str, sorted(numbers))) + f"|{target}"
    return "heldout" if zlib.crc32(key.encode()) % 5 == 0 else "train"


def generate_puzzles(
    n: int,
    seed: int,
    count: int = 4,
    low: int = 1,
    high: int = 13,
    target: int | tuple[int, int] = 24,
    *,
    unique: bool = True,
    split: Split = "any",
    hard: bool = False,
) -> list[Puzzle]:
    """``n`` solvable puzzles of ``count`` numbers drawn uniformly from ``low..high`` (inclusive).

    ``target`` is fixed (an int) or drawn uniformly from an inclusive ``(lo, hi)`` range per puzzle.
    ``unique`` rejects a repeated (sorted numbers, target) pair; ``split`` keeps only puzzles of one
    side of :func:`puzzle_split`; ``hard`` keeps only puzzles that :func:`is_hard` accepts. Deterministic for a given seed and knobs (its own
    ``random.Random(seed)``). Ids are ``"cd-<seed>-<index>"``. Game of 24: the defaults.
    """
    _check_knobs(n, count, low, high, target, split)
    if unique:
        targets = 1 if isinstance(target, int) else target[1] - target[0] + 1
        pool = math.comb(high - low + count, count) * targets  # distinct (multiset, target) pairs
        if n > pool:
            raise ValueError(
                f"asked for {n} distinct puzzles but count={count}, low={low}, high={high}, target={target} allow "
                f"at most {pool} (fewer are solvable{' and on the ' + split + ' side' if split != 'any' else ''}); "
                "lower n or pass puzzles with --data"
            )
    rng = random.Random(seed)
    puzzles: list[Puzzle] = []
    seen: set[tuple[tuple[int, ...], int]] = set()
    attempts, max_attempts = 0, 1000 + 200 * n
    while len(puzzles) < n:
        attempts += 1
        if attempts > max_attempts:
            raise ValueError(
                f"found only {len(puzzles)} of {n} solvable puzzles in {max_attempts} draws with count={count}, "
                f"low={low}, high={high}, target={target}, unique={unique}, split={split!r}, hard={hard}; "
                "widen the range, lower n, or pass unique=False"
            )
        numbers = tuple(rng.randint(low, high) for _ in range(count))
        goal = target if isinstance(target, int) else rng.randint(*target)
        key = (tuple(sorted(numbers)), goal)
        if (unique and key in seen) or (split != "any" and puzzle_split(numbers, goal) != split):
            continue
        if is_hard(numbers, goal) if hard else is_solvable(numbers, goal):
            seen.add(key)
            puzzles.append(Puzzle(f"cd-{seed}-{len(puzzles):05d}", numbers, goal))
    return puzzles


def _check_knobs(n: int, count: int, low: int, high: int, target: int | tuple[int, int], split: str) -> None:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not isinstance(count, int) or not 2 <= count <= MAX_NUMBERS:
        raise ValueError(f"count must be an integer in 2..{MAX_NUMBERS}, got {count!r}")
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= MAX_VALUE):
        raise ValueError(f"need integers 0 <= low <= high <= {MAX_VALUE}, got low={low!r}, high={high!r}")
    if isinstance(target, tuple):
        if len(target) != 2 or not all(isinstance(t, int) for t in target) or not 0 <= target[0] <= target[1]:
            raise ValueError(f"a target range must be (lo, hi) with 0 <= lo <= hi, got {target!r}")
    elif not isinstance(target, int) or target < 0:
        raise ValueError(f"target must be a non-negative integer or a (lo, hi) range, got {target!r}")
    if split not in ("any", "train", "heldout"):
        raise ValueError(f"split must be 'any', 'train' or 'heldout', got {split!r}")
