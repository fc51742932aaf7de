"""Every read of a run directory that the HTML report makes, in one place.

The report reads what ``mcts-llm search`` and ``mcts-llm train`` write (README, "The run directory"):
``summary.json``, ``config.toml``, ``tasks.jsonl``, ``trajectories.jsonl``, ``weights.csv``,
``trees/<task>.tree`` and, for a training run, ``metrics.csv``. The files grow new keys over time
(a schema ``version``, judge verdicts, pruned flags, judge costs), so every optional key is read
here with a default, and the rest of ``mcts.report`` sees only the small records below. When a file
format changes, this module is the one to update.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcts.run.rundir import RunDir

#: Keys a task row (or summary.json) may carry for the judge's cost; summed over tasks when present.
JUDGE_KEYS = ("judge_calls", "judge_tokens", "judge_seconds")


@dataclass(frozen=True)
class TaskRow:
    """One finished task (a ``tasks.jsonl`` row)."""

    task_id: str
    solved: bool
    tokens: int
    simulations: int
    seconds: float
    calls: dict[str, int]
    best: str
    judge: dict[str, float]
    faults: dict[str, int] = field(default_factory=dict)  # failed calls per teacher


@dataclass(frozen=True)
class StepNote:
    """What ``trajectories.jsonl`` adds about one tree node (only nodes on a root-to-terminal path)."""

    teachers: tuple[str, ...] = ()
    reward_parts: dict[str, float] = field(default_factory=dict)
    judge: float | None = None
    pruned: bool = False
    solved_end: bool = False  # the last step of a path the verifier accepted


@dataclass(frozen=True)
class TreeTable:
    """One saved tree as parallel arrays over all its nodes (index = node id), plus names."""

    parent: np.ndarray
    visits: np.ndarray
    q: np.ndarray
    prior: np.ndarray
    reward: np.ndarray
    teacher: np.ndarray
    terminal: np.ndarray
    best_path: tuple[int, ...]  # root first: the task's answer (``best`` in tasks.jsonl), else most visits
    teacher_names: tuple[str, ...]
    actions: Callable[[np.ndarray], list[str]]  # step texts by id, read only for the nodes drawn

    def __len__(self) -> int:
        return int(self.parent.shape[0])


@dataclass(frozen=True)
class WeightsTable:
    """``weights.csv``: teacher probabilities after each finished task."""

    names: tuple[str, ...]
    task_index: list[int]
    task_ids: list[str]
    probs: dict[str, list[float]]


def iter_jsonl(path: Path) -> Iterator[dict]:
    """Rows of a JSONL file one at a time (a run's trajectories can be hundreds of MB); a torn last
    line (no newline) and lines that are not JSON objects are skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def _number(value: object, default: float = 0.0) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


class RunFiles:
    """Read access to one run directory (search output, training output, or both).

    ``FileNotFoundError`` naming the path when it holds neither ``tasks.jsonl``/``summary.json`` nor
    ``metrics.csv``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._run = RunDir(self.path)
        self.metrics_csv = self.path / "metrics.csv"
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path} is not a directory: pass the --out of `mcts-llm search` or `mcts-llm train`")
        if not (self.is_search_run or self.is_training_run):
            raise FileNotFoundError(
                f"{self.path} holds no run: expected tasks.jsonl / summary.json (from `mcts-llm search --out {self.path}`) "
                f"or metrics.csv (from `mcts-llm train --out {self.path}`)"
            )
        self._notes: dict[str, dict[int, StepNote]] | None = None
        self._prompts: dict[str, str] = {}
        self._answers: dict[str, tuple[int, ...]] = {}

    @property
    def is_search_run(self) -> bool:
        return self._run.tasks.exists() or self._run.summary.exists()

    @property
    def is_training_run(self) -> bool:
        return self.metrics_csv.exists()

    # -- whole-run files -----------------------------------------------------------------------

    def summary(self) -> dict:
        """``summary.json`` as a dict ({} when absent or unreadable)."""
        try:
            data = json.loads(self._run.summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def config_text(self) -> str:
        try:
            return self._run.config.read_text(encoding="utf-8")
        except OSError:
            return ""

    def config(self) -> dict:
        """``config.toml`` parsed ({} when absent or not valid TOML)."""
        try:
            return tomllib.loads(self.config_text())
        except tomllib.TOMLDecodeError:
            return {}

    def weight_floor(self) -> float | None:
        """``[search.weights] floor`` of the run, or the default floor when the table lacks it."""
        weights = self.config().get("search", {}).get("weights", {})
        if "floor" in weights:
            return _number(weights["floor"], None)  # type: ignore[arg-type]
        from mcts.weights import WeightsConfig

        return WeightsConfig().floor if self._run.config.exists() else None

    def tasks(self) -> list[TaskRow]:
        rows = []
        for row in iter_jsonl(self._run.tasks):
            if "task_id" not in row:
                continue
            rows.append(
                TaskRow(
                    task_id=str(row["task_id"]),
                    solved=bool(row.get("solved", False)),
                    tokens=int(_number(row.get("tokens"))),
                    simulations=int(_number(row.get("simulations"))),
                    seconds=_number(row.get("seconds")),
                    calls={str(k): int(_number(v)) for k, v in (row.get("calls") or {}).items()},
                    best=str(row.get("best") or ""),
                    judge={k: _number(row[k]) for k in JUDGE_KEYS if k in row},
                    faults={str(k): int(_number(v)) for k, v in (row.get("faults") or {}).items()},
                )
            )
        return rows

    def weights(self) -> WeightsTable | None:
        """``weights.csv`` (None when absent or empty)."""
        if not self._run.weights_csv.exists():
            return None
        with open(self._run.weights_csv, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
        if len(rows) < 2 or len(rows[0]) < 3:
            return None
        names = tuple(rows[0][2:])
        body = [r for r in rows[1:] if len(r) == len(rows[0])]
        return WeightsTable(
            names=names,
            task_index=[int(_number(r[0])) for r in body],
            task_ids=[r[1] for r in body],
            probs={name: [_number(r[2 + j]) for r in body] for j, name in enumerate(names)},
        )

    def metrics(self) -> dict[str, list[float]]:
        """``metrics.csv`` of a training run: column -> values (non-numbers read as NaN)."""
        if not self.metrics_csv.exists():
            return {}
        with open(self.metrics_csv, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        columns = list(rows[0].keys()) if rows else []
        return {c: [_number(r.get(c), math.nan) for r in rows] for c in columns if c}

    # -- per task ------------------------------------------------------------------------------

    def _load_trajectories(self) -> None:
        notes: dict[str, dict[int, StepNote]] = {}
        answers = {t.task_id: t.best for t in self.tasks() if t.best}
        for row in iter_jsonl(self._run.trajectories):
            task = str(row.get("task_id", ""))
            self._prompts.setdefault(task, str(row.get("prompt", "")))
            steps = [s for s in row.get("steps") or [] if isinstance(s, dict)]
            node_ids = row.get("node_ids") or []
            if len(node_ids) != len(steps):
                continue  # an old row without node ids cannot be placed in the tree
            if task in answers and task not in self._answers and "".join(str(s.get("text", "")) for s in steps) == answers[task]:
                self._answers[task] = (0, *(int(i) for i in node_ids))
            by_node = notes.setdefault(task, {})
            for k, (node, step) in enumerate(zip(node_ids, steps)):
                if int(node) in by_node:
                    continue  # a shared prefix: the same node, the same step
                judge = step.get("judge_verdict", step.get("judge", step.get("judge_shift")))
                by_node[int(node)] = StepNote(
                    teachers=tuple(str(t) for t in step.get("teachers") or ()),
                    reward_parts={str(k2): _number(v) for k2, v in (step.get("reward_components") or {}).items()},
                    judge=None if judge is None else _number(judge),
                    pruned=bool(step.get("pruned", False)),
                    solved_end=bool(row.get("solved", False)) and k == len(steps) - 1,
                )
        self._notes = notes

    def step_notes(self, task_id: str) -> dict[int, StepNote]:
        """Node id -> ``StepNote`` for the nodes of ``task_id`` that lie on a saved trajectory."""
        if self._notes is None:
            self._load_trajectories()
        return self._notes.get(task_id, {})  # type: ignore[union-attr]

    def answer_path(self, task_id: str) -> tuple[int, ...]:
        """Node ids (root first) of the trajectory whose text is the task's ``best`` in tasks.jsonl; () if none."""
        if self._notes is None:
            self._load_trajectories()
        return self._answers.get(task_id, ())

    def prompt(self, task_id: str) -> str:
        if self._notes is None:
            self._load_trajectories()
        return self._prompts.get(task_id, "")

    def tree_path(self, task_id: str) -> Path:
        return self._run.tree_path(task_id)

    def tree(self, task_id: str) -> TreeTable:
        """The saved tree of ``task_id``. ``FileNotFoundError`` / ``ValueError`` (a bad file) name the path."""
        from mcts.tree_io import load_tree

        path = self.tree_path(task_id)
        if not path.exists():
            raise FileNotFoundError(f"no tree saved for task {task_id!r} (expected {path})")
        try:
            tree, weights = load_tree(path)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        stats = tree.nodes(np.arange(len(tree), dtype=np.int32))
        best = self.answer_path(task_id)
        if not best or max(best) >= len(tree) or any(int(stats.parent[b]) != a for a, b in zip(best, best[1:])):
            best = tuple(int(i) for i in tree.best_path("visits"))  # no answer saved, or it is not a path here
        return TreeTable(
            parent=stats.parent,
            visits=stats.visits,
            q=stats.q,
            prior=stats.prior,
            reward=stats.reward,
            teacher=stats.teacher,
            terminal=stats.terminal,
            best_path=best,
            teacher_names=tuple(weights.names) if weights is not None else (),
            actions=tree.actions,
        )
