"""The exact solver as a countdown ``Judge``: the ceiling any learned judge is measured against.

A judge (``mcts.types.Judge``) scores a state after a proposed step in [-1, 1]. This one knows the
answer: ``+1`` when every step so far is valid and the numbers left can still reach the target (the
exact solver of :mod:`mcts.tasks.countdown_solver`, ``Fraction``-exact like the verifier), ``-1`` when
a step is invalid or the target has become unreachable (a finished path that missed it included).
Verdicts are cached by (multiset of numbers left, target), so a batch costs one solver query per
distinct multiset. No model runs: ``tokens`` stays 0; ``calls`` counts batches, ``judged`` states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mcts.tasks.countdown import Puzzle, apply_steps
from mcts.tasks.countdown_solver import is_solvable
from mcts.types import ScoredText

_PROMPT = re.compile(r"\s*Numbers:\s*(?P<numbers>\d+(?:\s+\d+)*)\s*\n\s*Target:\s*(?P<target>\d+)\s*")


def parse_countdown_prompt(prompt: str, task_id: str = "judged") -> Puzzle:
    """The puzzle written by ``format_prompt`` (``"Numbers: 4 7 8 8\\nTarget: 24\\n"``).

    Raises ``ValueError`` quoting the prompt when it is not a countdown prompt.
    """
    match = _PROMPT.fullmatch(prompt)
    if match is None:
        raise ValueError(f"not a countdown prompt (expected 'Numbers: ...\\nTarget: N\\n'): {prompt[:80]!r}")
    numbers = tuple(int(n) for n in match["numbers"].split())
    return Puzzle(task_id or "judged", numbers, int(match["target"]))


class SolverJudge:
    """``Judge`` for countdown: +1 if the state is valid and can still reach the target, else -1."""

    name = "solver"

    def __init__(self) -> None:
        self._cache: dict[tuple[tuple[int, ...], int], bool] = {}
        self._puzzles: dict[str, Puzzle] = {}
        self.calls = 0
        self.judged = 0
        self.tokens = 0  # no model: nothing fed

    def _puzzle(self, prompt: str) -> Puzzle:
        puzzle = self._puzzles.get(prompt)
        if puzzle is None:
            puzzle = self._puzzles[prompt] = parse_countdown_prompt(prompt)
        return puzzle

    def reachable(self, numbers: Sequence[int], target: int) -> bool:
        """Whether ``numbers`` can still reach ``target`` (cached by the multiset)."""
        key = (tuple(sorted(numbers)), target)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = is_solvable(key[0], target)
        return hit

    def verdict(self, state: ScoredText) -> float:
        puzzle = self._puzzle(state.prompt)
        after = apply_steps(puzzle, state.steps)
        if after.invalid:
            return -1.0
        return 1.0 if self.reachable(after.remaining, puzzle.target) else -1.0

    def judge(self, states: Sequence[ScoredText]) -> list[float]:
        """One verdict per state, in order."""
        self.calls += 1
        self.judged += len(states)
        return [self.verdict(s) for s in states]


def countdown_state_view(state: ScoredText) -> str | None:
    """What a learned judge reads of a countdown state: the puzzle it has become, ``None`` if a step is invalid.

    The numbers left, sorted, and the target, written as a prompt (``"Numbers: 4 7 8\\nTarget: 24\\n"``),
    so every path to the same numbers reads the same: a held-out puzzle's state that some training
    puzzle also reaches is, to the judge, exactly the state it learned. An invalid step (the task's own
    checker, :func:`mcts.tasks.countdown.apply_steps`) is ``None``: rejected without asking the model.
    This is Tree of Thoughts' value prompt's input (the numbers left), with the proposal checked first.
    Raises ``ValueError`` when the prompt is not a countdown prompt.
    """
    puzzle = parse_countdown_prompt(state.prompt)
    after = apply_steps(puzzle, state.steps)
    if after.invalid:
        return None
    return f"Numbers: {' '.join(map(str, sorted(after.remaining)))}\nTarget: {puzzle.target}\n"
