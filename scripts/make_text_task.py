"""Write the bundled text task: countdown questions with worked reference answers, as text-task rows.

    python scripts/make_text_task.py                      # -> mcts/tasks/data/countdown-text.jsonl
    python scripts/make_text_task.py --rows 64 --seed 3 --out my_rows.jsonl

Each row is ``{"id", "prompt", "reference"}`` (the rows ``mcts-llm search --task text`` reads). The
prompt is the question in the words the bundled teachers were trained to continue
(``Numbers: ...`` / ``Target: ...``), and the reference is one worked solution, one step a line
(``8-4=4 (left: 7 8 4)``), drawn by the task's exact solver: so the metric ensemble compares what a
teacher writes with text of the same form, and a teacher that reasons well scores higher. Puzzles
come only from the training side of :func:`mcts.tasks.countdown_solver.puzzle_split`, so held-out
puzzles stay unseen by anything trained on searches of this task. Seeded: the same arguments
write the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from mcts.files import atomic_write_lines
from mcts.tasks.countdown import format_prompt
from mcts.tasks.countdown_solver import generate_puzzles, solve
from mcts.tasks.text_data import BUNDLED_TEXT_TASKS, TEXT_TASK_NAME


def text_rows(rows: int, seed: int) -> list[dict[str, str]]:
    """``rows`` Game-of-24 questions from the training side, each with a solver-drawn worked answer
    (the solver's choices consume ``random.Random(seed)``)."""
    rng = random.Random(seed)
    out = []
    for puzzle in generate_puzzles(rows, seed=seed, split="train"):
        steps = solve(puzzle.numbers, puzzle.target, rng)
        out.append({"id": f"text-{puzzle.id}", "prompt": format_prompt(puzzle), "reference": "".join(steps)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=24, help="questions to write (default 24)")
    parser.add_argument("--seed", type=int, default=14, help="puzzle and solution seed (default 14)")
    parser.add_argument("--out", type=Path, default=BUNDLED_TEXT_TASKS[TEXT_TASK_NAME],
                        help=f"where the JSONL goes (default: the bundled {TEXT_TASK_NAME!r})")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows must be >= 1, got {args.rows}")
    rows = text_rows(args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_lines(args.out, (json.dumps(row) for row in rows))
    print(f"{len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
