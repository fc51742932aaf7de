"""Seeded training text for the bundled models, made by the countdown task's own solver.

Every example is ``format_prompt(puzzle) + steps`` (the EOS token is appended by the trainer).
Puzzles come from the ``"train"`` side of :func:`mcts.tasks.countdown_solver.puzzle_split` only,
so held-out Game-of-24 puzzles measure generalisation. Three kinds of responses:

- ``solution``: a random correct solution (the expert's and the policy's data);
- ``noisy``: a mix of correct solutions, walks of random valid steps (wasted steps that miss the
  target) and solutions with one wrong-arithmetic step;
- ``walk``: random valid steps only, ignoring the target (the format-only model's data);
- ``opener`` and ``closer``, the complementary pair (each good at the part of the job the other is
  bad at, RESULTS "Complementary teachers"): the opener writes a correct solution's first step, then
  random valid steps that ignore the target, the last one claiming a result off by 1..3 (it opens
  well and is careless after); the closer writes a first
  step with such a slip (it opens badly) and, from any state a correct prefix reaches, the rest of a
  correct solution (it closes exactly). Its closing examples are a solution with its first 1..k-2
  steps *given*: part of the text, not of the loss (:class:`TrainingText`), so the closer learns to
  continue them, never to write them; its opening examples are the slipped first step alone, with no
  end-of-text after it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from mcts.tasks.countdown import Puzzle, format_prompt, format_step
from mcts.tasks.countdown_solver import after_move, generate_puzzles, is_solvable, legal_moves, puzzle_split, solve

DataKind = Literal["solution", "noisy", "walk", "opener", "closer"]
DATA_KINDS: tuple[str, ...] = ("solution", "noisy", "walk", "opener", "closer")

# Shares of each response type in the noisy data (the rest are correct solutions).
NOISY_WALK_SHARE = 0.35
NOISY_WRONG_ARITHMETIC_SHARE = 0.25
# Share of the closer's examples that teach its (slipped) opening; the rest teach it to close.
CLOSER_OPENING_SHARE = 0.3
# Share of Game-of-24 puzzles in every mix; the rest have other targets and 3 or 4 numbers.
GAME24_SHARE = 0.5


def game24_training_puzzles() -> list[Puzzle]:
    """Every solvable Game-of-24 number set (four numbers in 1..13) on the training side of the split."""
    sets = itertools.combinations_with_replacement(range(1, 14), 4)
    keep = [s for s in sets if puzzle_split(s, 24) == "train" and is_solvable(s, 24)]
    return [Puzzle(f"g24-train-{i:04d}", numbers, 24) for i, numbers in enumerate(keep)]


def other_training_puzzles(seed: int) -> list[Puzzle]:
    """Seeded puzzles with targets 1..100 and 3 or 4 numbers in 1..13 (training side only)."""
    return [
        *generate_puzzles(3000, seed, count=4, target=(1, 100), split="train"),
        *generate_puzzles(1500, seed + 1, count=3, target=(1, 60), split="train"),
    ]


def random_walk(numbers: tuple[int, ...], rng: random.Random) -> list[str]:
    """Random valid steps until one number is left (consumes ``rng``)."""
    steps: list[str] = []
    available = numbers
    while len(available) > 1:
        move = rng.choice(legal_moves(available))
        steps.append(format_step(*move, available))
        available = after_move(available, move)
    return steps


def wrong_arithmetic(numbers: tuple[int, ...], target: int, rng: random.Random) -> list[str]:
    """A solution whose step at a random position claims a result off by 1..3, then random valid steps."""
    steps = solve(numbers, target, rng) or []
    cut = rng.randrange(len(steps))
    available = numbers
    for line in steps[:cut]:
        available = _remaining_of(line)
    line = slipped_step(available, rng.choice(legal_moves(available)), rng)
    return [*steps[:cut], line, *random_walk(_remaining_of(line), rng)]


def slipped_step(available: tuple[int, ...], move: tuple[int, str, int], rng: random.Random) -> str:
    """``move`` on ``available`` written with its result off by 1..3 (the ``(left: ...)`` list agrees with it)."""
    true_value = after_move(available, move)[-1]
    wrong_value = true_value + rng.choice([-3, -2, -1, 1, 2, 3])
    if wrong_value < 0:
        wrong_value = true_value + 1
    rest = after_move(available, move)[:-1]
    left, op, right = move
    return f"{left}{op}{right}={wrong_value} (left: {' '.join(map(str, (*rest, wrong_value)))})\n"


def careless_after_opening(puzzle: Puzzle, rng: random.Random) -> list[str]:
    """The opener's response: the first step of a random correct solution, then random valid steps
    that ignore the target, the last of them slipped (:func:`slipped_step`)."""
    solution = solve(puzzle.numbers, puzzle.target, rng)
    assert solution is not None, f"training puzzle {puzzle} has no solution"
    steps, available = solution[:1], _remaining_of(solution[0])
    while len(available) > 2:
        move = rng.choice(legal_moves(available))
        steps.append(format_step(*move, available))
        available = after_move(available, move)
    if len(available) == 2:
        steps.append(slipped_step(available, rng.choice(legal_moves(available)), rng))
    return steps


@dataclass(frozen=True)
class TrainingText:
    """A training text and how much of it is trained on: the characters from ``loss_from`` on (the
    prompt and any given steps before it are context only), and an end-of-text after it iff ``ends``."""

    text: str
    loss_from: int
    ends: bool = True


def closer_text(puzzle: Puzzle, rng: random.Random) -> TrainingText:
    """One of the closer's examples (see the module docstring)."""
    prompt = format_prompt(puzzle)
    if rng.random() < CLOSER_OPENING_SHARE or len(puzzle.numbers) < 3:
        move = rng.choice(legal_moves(puzzle.numbers))
        return TrainingText(prompt + slipped_step(puzzle.numbers, move, rng), len(prompt), ends=False)
    steps = solve(puzzle.numbers, puzzle.target, rng)
    assert steps is not None, f"training puzzle {puzzle} has no solution"
    given = "".join(steps[: rng.randint(1, len(steps) - 1)])
    rest = "".join(steps[len(given.splitlines()):])
    return TrainingText(prompt + given + rest, len(prompt) + len(given))


def _remaining_of(line: str) -> tuple[int, ...]:
    inside = line[line.index("(left:") + len("(left:") : line.rindex(")")]
    return tuple(int(n) for n in inside.split())


def response(kind: DataKind, puzzle: Puzzle, rng: random.Random) -> list[str]:
    """The step lines of one training response of ``kind`` for ``puzzle`` (consumes ``rng``)."""
    if kind == "walk":
        return random_walk(puzzle.numbers, rng)
    if kind == "opener":
        return careless_after_opening(puzzle, rng)
    if kind == "noisy":
        roll = rng.random()
        if roll < NOISY_WALK_SHARE:
            return random_walk(puzzle.numbers, rng)
        if roll < NOISY_WALK_SHARE + NOISY_WRONG_ARITHMETIC_SHARE:
            return wrong_arithmetic(puzzle.numbers, puzzle.target, rng)
    steps = solve(puzzle.numbers, puzzle.target, rng)
    assert steps is not None, f"training puzzle {puzzle} has no solution"
    return steps


def example_stream(kind: DataKind, seed: int) -> Iterator[TrainingText]:
    """An endless seeded stream of training texts (prompt + response, no EOS), each with the part that
    is trained on (:class:`TrainingText`: the response, or for the closer what follows its given steps).

    Each text draws a puzzle (Game of 24 with probability ``GAME24_SHARE``), shuffles the order of
    its numbers, and writes a response of ``kind``. Same seed, same stream.
    """
    if kind not in DATA_KINDS:
        raise ValueError(f"unknown data kind {kind!r}; choose one of {', '.join(DATA_KINDS)}")
    rng = random.Random(seed)
    game24, others = game24_training_puzzles(), other_training_puzzles(seed)
    while True:
        puzzle = draw_puzzle(game24, others, GAME24_SHARE, rng)
        if kind == "closer":
            yield closer_text(puzzle, rng)
            continue
        prompt = format_prompt(puzzle)
        yield TrainingText(prompt + "".join(response(kind, puzzle, rng)), len(prompt))


def draw_puzzle(game24: list[Puzzle], others: list[Puzzle], game24_share: float, rng: random.Random) -> Puzzle:
    """A puzzle from ``game24`` (with probability ``game24_share``) or ``others``, its numbers shuffled."""
    pool = game24 if rng.random() < game24_share else others
    base = rng.choice(pool)
    numbers = list(base.numbers)
    rng.shuffle(numbers)
    return Puzzle(base.id, tuple(numbers), base.target)
