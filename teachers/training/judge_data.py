"""Seeded training states for the bundled judge ``countdown-judge``, labelled by the exact solver.

One example is a countdown state as the search sees it — ``format_prompt(puzzle)`` and 1..k-1 step
lines written like the teachers write them (``8-4=4 (left: 7 8 4)``) — and a verdict:

- **accept** (``reachable=True``): every step is valid (:func:`mcts.tasks.countdown.apply_steps`) and
  the numbers left can still reach the target (:func:`mcts.tasks.countdown_solver.is_solvable`);
- **reject** (``reachable=False``): the last step is invalid, or the numbers left cannot reach it.

The label is always computed by the task's checker and the solver, never assumed from how a state was
built. States are balanced: each draw first picks the wanted label (50/50), then a depth uniformly
among 1..k-1 steps (k = count of numbers), then builds a state of that label:

- reachable: the first ``depth`` steps of a random solution (uniform among winning moves per step);
- unreachable, valid: ``depth - 1`` steps from a solution or a random walk, then a legal move that
  leaves the target out of reach (or any legal move when the prefix is already dead);
- unreachable, invalid (share :data:`INVALID_SHARE` of unreachable states): the same prefix, then a
  legal move spoiled in one of the ways models get steps wrong (:func:`spoil_move`): wrong result,
  wrong ``(left: ...)`` list, an operand that is not available, a truncated division.

Puzzles, three pools (shares :data:`POOL_SHARES`): every solvable Game-of-24 number set of 1..13 on the
training side of :func:`~mcts.tasks.countdown_solver.puzzle_split` (the benchmark's kind); every
solvable training-side Game-of-24 set of 1..:data:`WIDE_HIGH` with a number above 13 (their states
after a step or two are the numbers-left sets held-out puzzles also reach: a judge judges *states*,
and a state is shared by many puzzles, so more puzzles teach more of the states it will be asked
about); and seeded puzzles with other targets and 3 or 4 numbers, as the teacher data has. Stricter than the teachers' data: a
puzzle with another target is kept only if its number set is also on the training side *for target
24*, so no held-out Game-of-24 number set appears in the judge's data in any order or with any target.
Puzzles on the judge's own dev side (:func:`judge_dev_split`, 10 % of the training side) are left out
of the training stream, so model size and steps can be chosen on unseen puzzles without touching the
held-out side.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from mcts.tasks.countdown import Puzzle, apply_steps, format_step
from mcts.tasks.countdown_solver import after_move, generate_puzzles, is_solvable, legal_moves, puzzle_split, solve

JUDGE_DATA_KIND = "judge"
# Draw shares of the pools (see the module docstring): Game of 24 from 1..13, from 1..WIDE_HIGH, other targets.
POOL_SHARES = (0.4, 0.35, 0.25)
WIDE_HIGH = 20
# Relative odds of 1, 2, 3 steps for four numbers: the first step is the hardest to judge (three numbers
# left: about 4,000 distinct Game-of-24 states that an LM learns one by one, RESULTS "Judge quality").
DEPTH_ODDS = (5, 2, 1)
# After one step, odds of drawing from the first steps of Game of 24 from 1..13 vs of every pool.
FIRST_STEP_ODDS = (3, 1)
# The focus stream (``Recipe.focus_steps``): mostly one-step states, all from Game of 24 from 1..13 (the
# benchmark's kind), with some deeper states so those are not forgotten.
FOCUS_DEPTH_ODDS = (8, 1, 1)
FOCUS_FIRST_STEP_ODDS = (1, 0)
# Share of unreachable states whose last step is invalid (the rest are valid steps into a dead end).
INVALID_SHARE = 0.35
# Share of unreachable states whose prefix is a random walk (may already be dead) rather than a solution's.
WALK_PREFIX_SHARE = 0.5
DEV_SHARE_PERCENT = 10

Side = Literal["fit", "dev"]


@dataclass(frozen=True)
class JudgeExample:
    """A state (``puzzle`` + ``steps``, each step ending in ``"\\n"``) and its solver label."""

    puzzle: Puzzle
    steps: tuple[str, ...]
    reachable: bool

    @property
    def depth(self) -> int:
        return len(self.steps)


def judge_dev_split(numbers: Sequence[int], target: int) -> Side:
    """A fixed 90/10 split of training-side puzzles: ``"dev"`` ones never enter the judge's training."""
    key = " ".join(map(str, sorted(numbers))) + f"|{target}|judge-dev"
    return "dev" if zlib.crc32(key.encode()) % 100 < DEV_SHARE_PERCENT else "fit"


def is_judge_training_side(numbers: Sequence[int], target: int) -> bool:
    """Training side for ``target`` and, for four numbers, for Game of 24 too (see the module docstring)."""
    if puzzle_split(numbers, target) != "train":
        return False
    return len(numbers) != 4 or puzzle_split(numbers, 24) == "train"


def judge_puzzles(side: Side, seed: int) -> tuple[list[Puzzle], list[Puzzle], list[Puzzle]]:
    """``(game24, wide24, others)``: the solvable training-side puzzles of ``side`` (deterministic in ``seed``)."""
    sets = itertools.combinations_with_replacement(range(1, WIDE_HIGH + 1), 4)
    pools: tuple[list[Puzzle], list[Puzzle]] = ([], [])
    for i, numbers in enumerate(sets):
        if is_judge_training_side(numbers, 24) and judge_dev_split(numbers, 24) == side and is_solvable(numbers, 24):
            pools[max(numbers) > 13].append(Puzzle(f"judge-g24-{i:05d}", numbers, 24))
    drawn = [
        *generate_puzzles(3000, seed, count=4, target=(1, 100), split="train"),
        *generate_puzzles(1500, seed + 1, count=3, target=(1, 60), split="train"),
    ]
    others = [p for p in drawn if is_judge_training_side(p.numbers, p.target) and judge_dev_split(p.numbers, p.target) == side]
    return pools[0], pools[1], others


def reachable(puzzle: Puzzle, steps: Sequence[str]) -> bool:
    """The label: every step valid and the numbers left can still make ``puzzle.target``."""
    state = apply_steps(puzzle, steps)
    return not state.invalid and is_solvable(state.remaining, puzzle.target)


def spoil_move(available: tuple[int, ...], rng: random.Random) -> str:
    """An invalid step line built from a random legal move of ``available`` (consumes ``rng``).

    One of: the result off by 1..3 (or doubled), with a ``(left: ...)`` list consistent with it; the right
    result but a wrong ``(left: ...)`` list (an operand kept, a number dropped or changed); an operand
    that is not available (arithmetic right); a division written with its quotient truncated.
    """
    left, op, right = rng.choice(legal_moves(available))
    value = after_move(available, (left, op, right))[-1]
    rest = list(after_move(available, (left, op, right))[:-1])
    kind = rng.randrange(4)
    if kind == 0:
        wrong = value * 2 if value > 3 and rng.random() < 0.2 else value + rng.choice([-3, -2, -1, 1, 2, 3])
        wrong = wrong if wrong >= 0 and wrong != value else value + 1
        return _line(left, op, right, wrong, [*rest, wrong])
    if kind == 1:
        shown = [*rest, value]
        how = rng.randrange(3)
        if how == 0:
            shown.insert(rng.randrange(len(shown)), rng.choice([left, right]))  # an operand kept
        elif how == 1 and len(shown) > 1:
            shown.pop(rng.randrange(len(shown) - 1))  # an unused number dropped
        else:
            i = rng.randrange(len(shown))
            shown[i] = shown[i] + rng.choice([-2, -1, 1, 2]) if shown[i] > 2 else shown[i] + 1
        return _line(left, op, right, value, shown)
    if kind == 2:
        missing = [n for n in range(1, 14) if n not in available]
        other = rng.choice(missing) if missing else max(available) + 1
        new_left, new_right = (other, right) if rng.random() < 0.5 else (left, other)
        if op == "-" and new_left < new_right or op == "/" and (new_right == 0 or new_left % new_right):
            op = "+"
        result = after_move((new_left, new_right), (new_left, op, new_right))[-1]
        return _line(new_left, op, new_right, result, [*rest, result])
    pairs = [(a, b) for a, b in itertools.permutations(available, 2) if b > 1 and a % b]
    if not pairs:
        return _line(left, op, right, value + 1, [*rest, value + 1])
    a, b = rng.choice(pairs)
    rest = list(available)
    rest.remove(a)
    rest.remove(b)
    return _line(a, "/", b, a // b, [*rest, a // b])


def _line(left: int, op: str, right: int, result: int, left_list: Sequence[int]) -> str:
    return f"{left}{op}{right}={result} (left: {' '.join(map(str, left_list))})\n"


def _prefix(puzzle: Puzzle, length: int, rng: random.Random) -> list[str]:
    """``length`` valid steps: from a random solution, or (share WALK_PREFIX_SHARE) random legal moves."""
    if rng.random() < WALK_PREFIX_SHARE:
        steps, available = [], puzzle.numbers
        for _ in range(length):
            move = rng.choice(legal_moves(available))
            steps.append(format_step(*move, available))
            available = after_move(available, move)
        return steps
    solution = solve(puzzle.numbers, puzzle.target, rng)
    assert solution is not None, f"judge puzzle {puzzle} has no solution"
    return solution[:length]


def sample_state(puzzle: Puzzle, depth: int, want_reachable: bool, rng: random.Random,
                 invalid_share: float = INVALID_SHARE) -> JudgeExample:
    """One state of ``depth`` steps of ``puzzle`` (solvable), aiming at the label ``want_reachable``.

    The label is computed, not assumed: it differs from the wish only when no state of the wanted kind
    exists at this depth after a few tries (rare: e.g. every last move of a state wins).
    """
    if not 1 <= depth < len(puzzle.numbers):
        raise ValueError(f"depth must be in 1..{len(puzzle.numbers) - 1} for {puzzle.numbers}, got {depth}")
    steps: list[str] = []
    for _ in range(8):
        if want_reachable:
            solution = solve(puzzle.numbers, puzzle.target, rng)
            assert solution is not None, f"judge puzzle {puzzle} has no solution"
            steps = solution[:depth]
        else:
            steps = _prefix(puzzle, depth - 1, rng)
            available = apply_steps(puzzle, steps).remaining
            if rng.random() < invalid_share:
                steps.append(spoil_move(available, rng))
            else:
                dead = [m for m in legal_moves(available) if not is_solvable(after_move(available, m), puzzle.target)]
                move = rng.choice(dead or legal_moves(available))
                steps.append(format_step(*move, available))
        label = reachable(puzzle, steps)
        if label == want_reachable:
            break
    return JudgeExample(puzzle, tuple(steps), label)


Move = tuple[int, str, int]
FirstSteps = dict[bool, list[list[tuple[Puzzle, Move]]]]


def first_steps(puzzles: Sequence[Puzzle]) -> FirstSteps:
    """Every legal first step of ``puzzles``, grouped by the state it leaves (numbers left as a sorted
    multiset, and the target), the groups split by that state's label: ``{reachable: [group, ...]}``.

    Drawing a group uniformly, then a step in it, visits each distinct first-step state equally often,
    however many puzzles share it: the judge must learn states, and a common one says no more than a rare.
    """
    by_state: dict[tuple[tuple[int, ...], int], list[tuple[Puzzle, Move]]] = {}
    for puzzle in puzzles:
        for move in legal_moves(puzzle.numbers):
            key = (tuple(sorted(after_move(puzzle.numbers, move))), puzzle.target)
            by_state.setdefault(key, []).append((puzzle, move))
    groups: FirstSteps = {True: [], False: []}
    for (left, target), sources in sorted(by_state.items()):
        groups[is_solvable(left, target)].append(sources)
    return groups


def first_step_state(steps: tuple[FirstSteps, ...], puzzles: Sequence[Puzzle], want_reachable: bool,
                     rng: random.Random, odds: Sequence[float] | None = None,
                     invalid_share: float = INVALID_SHARE) -> JudgeExample:
    """A state after one step: a distinct first-step state of the wanted label, drawn uniformly from one
    of ``steps`` (chosen by ``odds``, uniformly without), then one step that leaves it, numbers shuffled; or, for a share
    ``invalid_share`` of unreachable ones, a spoiled first step of a puzzle of ``puzzles``."""
    if not want_reachable and rng.random() < invalid_share:
        puzzle = _shuffled(rng.choice(puzzles), rng)
        steps_taken: tuple[str, ...] = (spoil_move(puzzle.numbers, rng),)
    else:
        pool = rng.choices(steps, weights=odds)[0] if odds else rng.choice(steps)
        puzzle, move = rng.choice(rng.choice(pool[want_reachable]))
        puzzle = _shuffled(puzzle, rng)
        steps_taken = (format_step(*move, puzzle.numbers),)
    return JudgeExample(puzzle, steps_taken, reachable(puzzle, steps_taken))


def _shuffled(puzzle: Puzzle, rng: random.Random) -> Puzzle:
    numbers = list(puzzle.numbers)
    rng.shuffle(numbers)
    return Puzzle(puzzle.id, tuple(numbers), puzzle.target)


def judge_examples(seed: int, side: Side = "fit", run: int = 1, invalid_share: float = INVALID_SHARE,
                   depth_odds: Sequence[float] = DEPTH_ODDS,
                   first_step_odds: Sequence[float] = FIRST_STEP_ODDS) -> Iterator[JudgeExample]:
    """An endless seeded stream of balanced judge examples from the ``side`` puzzles (same seed, same stream),
    in runs of ``run`` examples of one depth (the trainer's batch: rows of one depth pad little).

    Each run draws its depth (odds ``depth_odds``), each example its label (50/50). After one step,
    :func:`first_step_state` over the first steps of the Game-of-24 1..13 pool or of every pool (odds
    ``first_step_odds``); deeper, a pool (:data:`POOL_SHARES`; puzzles with enough numbers) and a puzzle from it, its
    numbers shuffled, and :func:`sample_state`. ``invalid_share``: of unreachable states, the share
    whose last step is invalid (0 for the bundled judge, which never sees them: the checker rejects them).
    """
    rng = random.Random(seed)
    pools = judge_puzzles(side, seed)
    everything = [p for pool in pools for p in pool]
    steps = (first_steps(pools[0]), first_steps(everything))
    while True:
        depth = rng.choices(range(1, len(depth_odds) + 1), weights=depth_odds)[0]
        deep_enough = [[p for p in pool if len(p.numbers) > depth] for pool in pools]
        for _ in range(run):
            want = rng.random() < 0.5
            if depth == 1:
                yield first_step_state(steps, everything, want, rng, first_step_odds, invalid_share)
                continue
            base = rng.choices(deep_enough, weights=POOL_SHARES)[0]
            yield sample_state(_shuffled(rng.choice(base), rng), depth, want, rng, invalid_share)
