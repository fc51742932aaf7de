"""The run directory: every output of ``mcts-llm search``, written so that a crash loses nothing.

    trajectories.jsonl   one row per root-to-terminal path (appended + fsynced per finished task)
    tasks.jsonl          one row per finished task (the resume ledger; written after its trajectories)
    trees/<task>.tree    the searched tree with the teacher weights (atomic rename)
    weights.csv          teacher probabilities after every task
    summary.json         totals so far (atomic rename)
    config.toml          the resolved configuration of the run

A row is appended only whole: on resume a torn last line is cut off, and trajectory rows of a task
that never reached tasks.jsonl are dropped, so ``--resume`` duplicates nothing.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from mcts.files import append_lines, atomic_write_lines, atomic_write_text
from mcts.types import SearchResult

log = logging.getLogger(__name__)


class DiskFullError(OSError):
    """Free disk fell below the run's limit; everything written so far is intact."""


def safe_name(task_id: str) -> str:
    """A file name for a task id (ids come from user data: keep them inside trees/)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", task_id).lstrip(".")
    return name[:120] or "task"


def read_jsonl_rows(path: Path) -> list[dict]:
    """Rows of a JSONL file this module wrote, ignoring a torn last line."""
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith("\n"):
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{path}:{number}: not a JSON row ({error.msg}); a complete line is damaged, which a crash "
                    "cannot do: restore the file or remove that line, then --resume (its task is searched again)"
                ) from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def cut_torn_tail(path: Path) -> None:
    """Drop a last line that a crash left without its newline."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(keep)


class RunDir:
    """Owns one run directory. ``min_free_mb`` is checked before the run and before every write."""

    def __init__(self, path: str | os.PathLike, *, min_free_mb: float = 200.0):
        self.path = Path(path)
        self.min_free_mb = min_free_mb
        self.trees = self.path / "trees"
        self.trajectories = self.path / "trajectories.jsonl"
        self.tasks = self.path / "tasks.jsonl"
        self.weights_csv = self.path / "weights.csv"
        self.summary = self.path / "summary.json"
        self.config = self.path / "config.toml"

    # -- lifecycle ---------------------------------------------------------------------------------

    def create(self, *, resume: bool) -> None:
        """Make the directory; refuse to mix a new run into an old one unless resuming."""
        if self.tasks.exists() and not resume:
            raise FileExistsError(
                f"{self.path} already holds a run ({self.tasks.name} exists): pass --resume to continue it, "
                "or choose another --out"
            )
        self.trees.mkdir(parents=True, exist_ok=True)
        self.check_disk()
        if resume:
            self.repair()

    def repair(self) -> None:
        """Cut torn lines, drop trajectory and weight rows of tasks that never finished, and remove
        temporary files a crash left."""
        for path in (self.tasks, self.trajectories, self.weights_csv):
            cut_torn_tail(path)
        for tmp in self.path.glob("*.tmp"):
            tmp.unlink()
        rows = read_jsonl_rows(self.trajectories)
        self.forget_tasks_missing_paths(rows)
        finished = self.finished_task_ids()
        kept = [r for r in rows if r.get("task_id") in finished]
        if len(kept) != len(rows):
            atomic_write_lines(self.trajectories, (json.dumps(r) for r in kept))
        if self.weights_csv.exists():
            with open(self.weights_csv, newline="", encoding="utf-8") as f:
                lines = list(csv.reader(f))
            kept_lines = lines[:1] + [r for r in lines[1:] if len(r) > 1 and r[1] in finished]
            if len(kept_lines) != len(lines):
                with open(self.weights_csv.with_name("weights.csv.tmp"), "w", newline="", encoding="utf-8") as f:
                    csv.writer(f).writerows(kept_lines)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(self.weights_csv.with_name("weights.csv.tmp"), self.weights_csv)

    def forget_tasks_missing_paths(self, trajectory_rows: Sequence[dict]) -> None:
        """Ledger rows whose task has fewer paths in ``trajectories.jsonl`` than it recorded (the file
        was cut) are dropped, so ``--resume`` searches those tasks again."""
        counts: dict[str, int] = {}
        for r in trajectory_rows:
            counts[r.get("task_id")] = counts.get(r.get("task_id"), 0) + 1
        ledger = read_jsonl_rows(self.tasks)
        whole = [r for r in ledger if not isinstance(r.get("trajectories"), int) or counts.get(r["task_id"], 0) >= r["trajectories"]]
        if len(whole) != len(ledger):
            lost = sorted({r["task_id"] for r in ledger} - {r["task_id"] for r in whole})
            log.warning("%s lost the paths of %d finished task(s) (%s): they are searched again",
                        self.trajectories, len(lost), ", ".join(lost[:5]))
            atomic_write_lines(self.tasks, (json.dumps(r) for r in whole))

    def finished_task_ids(self) -> set[str]:
        return {row["task_id"] for row in read_jsonl_rows(self.tasks)}

    def finished_rows(self) -> list[dict]:
        return read_jsonl_rows(self.tasks)

    # -- disk --------------------------------------------------------------------------------------

    def free_mb(self) -> float:
        return shutil.disk_usage(self.path if self.path.exists() else self.path.parent).free / 2**20

    def check_disk(self) -> None:
        free = self.free_mb()
        if free < self.min_free_mb:
            raise DiskFullError(
                f"only {free:.0f} MiB free under {self.path} (the run needs {self.min_free_mb:.0f} MiB): "
                "free some space or lower --min-free-mb; everything written so far is kept"
            )

    # -- writes ------------------------------------------------------------------------------------

    def tree_path(self, task_id: str) -> Path:
        return self.trees / f"{safe_name(task_id)}.tree"

    def write_config(self, toml_text: str) -> None:
        atomic_write_text(self.config, toml_text)

    def record_task(self, result: SearchResult, extra: dict | None = None) -> None:
        """Append a finished task: its trajectories first, then its ledger row (the commit point)."""
        self.check_disk()
        append_lines(self.trajectories, (json.dumps(t.to_json()) for t in result.trajectories))
        row = {
            "task_id": result.task_id,
            "solved": result.solved,
            "simulations": result.simulations,
            "tokens": result.generated_tokens,
            "calls": result.calls_per_teacher,
            "faults": result.faults,
            "stop_reason": result.stop_reason,
            "judge_calls": result.judge_calls,
            "judge_tokens": result.judge_tokens,
            "judge_seconds": round(result.judge_seconds, 3),
            "seconds": round(result.seconds, 3),
            "best": "".join(s.text for s in result.best.steps) if result.best else None,
            "trajectories": len(result.trajectories),
            **(extra or {}),
        }
        append_lines(self.tasks, [json.dumps(row)])

    def record_weights(self, task_index: int, task_id: str, names: Sequence[str], probs: Sequence[float]) -> None:
        new = not self.weights_csv.exists()
        with open(self.weights_csv, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["task_index", "task_id", *names])
            writer.writerow([task_index, task_id, *(f"{p:.6f}" for p in probs)])
            f.flush()
            os.fsync(f.fileno())

    def write_summary(self, summary: dict) -> None:
        atomic_write_text(self.summary, json.dumps(summary, indent=2) + "\n")
