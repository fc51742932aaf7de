"""Collecting value-net training trees: searches that keep going after the first solution.

A search that stops at its first solution backs up almost nothing but zeros; with
``stop_on_solve = False`` every simulation of the budget runs, so the subtrees below good and bad
steps both get Monte-Carlo returns (rollouts at the leaves, the search's default evaluation).

Layout of a collection directory: ``puzzles.jsonl`` (the searched puzzles, the format of
:func:`mcts.tasks.countdown.load_puzzles`) and ``trees/<puzzle id>.tree`` (``mcts.tree_io``).
``side="train"`` refuses any puzzle off the training side of the split (:mod:`value.countdown_truth`),
so a held-out number set never reaches training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from mcts.search import Budget, Searcher, SearchConfig
from mcts.tasks.countdown import Puzzle, dump_puzzles, format_prompt, load_puzzles
from mcts.tasks.countdown_solver import puzzle_split
from mcts.tasks.searchable import CountdownTask
from mcts.tree_io import load_tree, save_tree
from value.countdown_truth import HeldOutLeakError, is_training_side
from value.tree_values import tree_examples
from value.value_data import ValueExample

PUZZLES_FILE = "puzzles.jsonl"
TREES_DIR = "trees"


def check_side(puzzles: Sequence[Puzzle], side: Literal["train", "heldout"]) -> None:
    """Raises :class:`HeldOutLeakError` (``side="train"``) or ValueError (``"heldout"``) for a puzzle
    off ``side``."""
    for p in puzzles:
        if side == "train" and not is_training_side(p.numbers, p.target):
            raise HeldOutLeakError(f"puzzle {p.id} {p.numbers} -> {p.target} is not on the training side of the split")
        if side == "heldout" and puzzle_split(p.numbers, p.target) != "heldout":
            raise ValueError(f"puzzle {p.id} {p.numbers} -> {p.target} is not on the held-out side of the split")


def collect_trees(
    out: str | Path,
    puzzles: Sequence[Puzzle],
    teachers: Sequence,
    *,
    side: Literal["train", "heldout"],
    simulations: int = 48,
    seed: int = 0,
    config: SearchConfig | None = None,
) -> Path:
    """Search every puzzle for ``simulations`` simulations with ``stop_on_solve = False`` (rollouts at
    the leaves unless ``config`` says otherwise) and save the trees under ``out``; returns ``out``.

    Puzzle ``i`` is searched with seed ``seed + i``; teacher weights carry from puzzle to puzzle
    (one :class:`~mcts.search.Searcher`). Deterministic for fixed teachers, puzzles and seed.
    """
    check_side(puzzles, side)
    out = Path(out)
    (out / TREES_DIR).mkdir(parents=True, exist_ok=True)
    config = config or SearchConfig(budget=Budget(simulations=simulations), stop_on_solve=False, seed=seed)
    searcher = Searcher(teachers, config)
    for i, puzzle in enumerate(puzzles):
        result = searcher.search(CountdownTask(puzzle), seed=seed + i)
        save_tree(out / TREES_DIR / f"{puzzle.id}.tree", result.tree)
    dump_puzzles(puzzles, out / PUZZLES_FILE)
    return out


def load_tree_examples(directories: str | Path | Sequence[str | Path], *, min_samples: int = 1) -> list[ValueExample]:
    """Examples (:func:`value.tree_values.tree_examples`) of every tree in one or more collection
    directories; ``task_id`` is the puzzle id prefixed by the directory name (ids stay distinct)."""
    dirs = [directories] if isinstance(directories, (str, Path)) else list(directories)
    examples: list[ValueExample] = []
    for directory in map(Path, dirs):
        for puzzle in load_puzzles(directory / PUZZLES_FILE):
            path = directory / TREES_DIR / f"{puzzle.id}.tree"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: was the collection into {directory} interrupted?")
            tree, _ = load_tree(path)
            examples += tree_examples(tree, f"{directory.name}/{puzzle.id}", format_prompt(puzzle), min_samples=min_samples)
    return examples
