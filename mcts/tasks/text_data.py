"""Text-task data files that ship with the package, by name (``--data countdown-text``).

``countdown-text``: 24 Game-of-24 questions from the training side of the puzzle split, each with a
worked reference answer in the steps the bundled teachers write; ``scripts/make_text_task.py``
rebuilds it (seeded).
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
TEXT_TASK_NAME = "countdown-text"
BUNDLED_TEXT_TASKS: dict[str, Path] = {TEXT_TASK_NAME: DATA_DIR / f"{TEXT_TASK_NAME}.jsonl"}


def resolve_text_data(data: str) -> str:
    """A bundled name -> its file's path; anything else (a path, existing or not) unchanged.
    A file of that name in the working directory wins over the bundled one."""
    if data in BUNDLED_TEXT_TASKS and not Path(data).exists():
        return str(BUNDLED_TEXT_TASKS[data])
    return data
