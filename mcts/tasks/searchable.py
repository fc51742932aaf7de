"""Tasks as the search sees them (``mcts.search.task.SearchTask``): a prompt and a batched verdict.

- ``CountdownTask``: the verifier decides. A step that breaks a rule ends the path with reward 0; the
  last step ends it with reward 1 if it reaches the target, else 0.
- ``TextTask``: a metric ensemble scores the response so far; each step's reward is the change of
  that score (potential-based shaping, Ng et al. 1999), so a path's return telescopes to the score of
  its final text whatever its length. The path ends by the generic rules (``terminal.*``: end-of-sequence,
  stop strings, sentence end, depth, overlap with the query or the reference; mcts/search/score.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcts.files import read_json_objects
from mcts.tasks.countdown import Puzzle, apply_steps, format_prompt
from mcts.types import ScoredText, StepOutcome


class CountdownTask:
    """A countdown puzzle under search: reward 1 for a path that reaches the target, else 0."""

    reference = None
    return_range = (0.0, 1.0)

    def __init__(self, puzzle: Puzzle):
        self.puzzle = puzzle
        self.id = puzzle.id
        self.prompt = format_prompt(puzzle)

    def outcomes(self, paths: Sequence[Sequence[str]]) -> list[StepOutcome]:
        return [self._outcome(path) for path in paths]

    def context(self, steps: Sequence[str]) -> int:
        """The teacher-weights context of a draw after ``steps`` (``weights.context = "task"``): how
        many numbers are still available (a planner's opening differs from the last exact steps)."""
        return len(apply_steps(self.puzzle, steps).remaining)

    def _outcome(self, path: Sequence[str]) -> StepOutcome:
        state = apply_steps(self.puzzle, path)
        if state.invalid:
            return StepOutcome(terminal=True, reward=0.0, solved=False, components=(("verifier", 0.0),))
        if len(state.remaining) <= 1:
            solved = state.reached(self.puzzle.target)
            reward = 1.0 if solved else 0.0
            return StepOutcome(terminal=True, reward=reward, solved=solved, components=(("verifier", reward),))
        return StepOutcome(terminal=False, reward=0.0)


class TextTask:
    """A free-text prompt scored by a ``RewardEnsemble`` (``value.RewardEnsemble``)."""

    def __init__(self, id: str, prompt: str, reference: str | None, ensemble: Any):
        self.id = id
        self.prompt = prompt
        self.reference = reference
        self.ensemble = ensemble
        self._scores: dict[tuple[str, ...], float] = {(): 0.0}

    def outcomes(self, paths: Sequence[Sequence[str]]) -> list[StepOutcome]:
        states = [ScoredText(self.prompt, tuple(p), self.reference, self.id) for p in paths]
        breakdowns = self.ensemble.score(states)
        prefixes = [tuple(p[:-1]) for p in paths]
        missing = [p for p in dict.fromkeys(prefixes) if p not in self._scores]
        if missing:
            for prefix, b in zip(missing, self.ensemble.score([ScoredText(self.prompt, p, self.reference, self.id) for p in missing])):
                self._scores[prefix] = b.total
        result = []
        for path, prefix, b in zip(paths, prefixes, breakdowns):
            self._scores[tuple(path)] = b.total
            result.append(
                StepOutcome(
                    terminal=False,
                    reward=b.total - self._scores[prefix],
                    solved=False,
                    components=tuple(sorted(b.components.items())),
                )
            )
        return result


@dataclass(frozen=True)
class TextRow:
    id: str
    prompt: str
    reference: str | None


def load_text_rows(path: str | Path) -> list[TextRow]:
    """Rows ``{"id", "prompt", "reference"?}``; one clear error naming the file, line and field."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {path} does not exist")
    rows, seen = [], set()
    for where, row in read_json_objects(path, ValueError, "data file"):
        for key in ("id", "prompt"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise ValueError(f"{where}: field {key!r} must be a non-empty string")
        reference = row.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise ValueError(f"{where}: field 'reference' must be a string when present")
        if row["id"] in seen:
            raise ValueError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        rows.append(TextRow(row["id"], row["prompt"], reference))
    if not rows:
        raise ValueError(f"{path} holds no rows")
    return rows
