"""Assembling a report: read the run (``runfiles``), choose the drawn nodes (``trees``), make the
plotly figures (``figures``), write the page (``page``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from mcts.report import figures, page
from mcts.report.runfiles import JUDGE_KEYS, RunFiles, TaskRow
from mcts.report.trees import DEFAULT_MAX_NODES, DrawnTree, draw_tree

SUMMARY_KEYS = ("tasks", "solved", "solve_rate", "tokens", "simulations", "seconds", "wall_seconds", "stopped")


def summary_rows(files: RunFiles, tasks: Sequence[TaskRow]) -> list[tuple[str, object]]:
    """The run summary: summary.json's totals (or sums over tasks.jsonl), calls per teacher, judge costs."""
    summary = files.summary()
    rows: list[tuple[str, object]] = [("run", str(files.path))]
    totals = {
        "tasks": len(tasks), "solved": sum(t.solved for t in tasks), "tokens": sum(t.tokens for t in tasks),
        "simulations": sum(t.simulations for t in tasks), "seconds": sum(t.seconds for t in tasks),
    }
    for key in SUMMARY_KEYS:
        if key in summary or key in totals:
            rows.append((key, summary.get(key, totals.get(key))))
    calls: dict[str, int] = {}
    for t in tasks:
        for name, n in t.calls.items():
            calls[name] = calls.get(name, 0) + n
    if calls:
        rows.append(("teacher calls", dict(sorted(calls.items()))))
    faults: dict[str, int] = {}
    for t in tasks:
        for name, n in t.faults.items():
            faults[name] = faults.get(name, 0) + n
    rows.append(("teacher faults", dict(sorted(faults.items())) or "none"))
    for key in JUDGE_KEYS:
        if key in summary:
            rows.append((key.replace("_", " "), summary[key]))
        elif any(key in t.judge for t in tasks):
            rows.append((key.replace("_", " "), sum(t.judge.get(key, 0.0) for t in tasks)))
    if summary.get("teacher_probabilities"):
        rows.append(("final teacher weights", dict(summary["teacher_probabilities"])))
    return rows


def _drawn_trees(files: RunFiles, tasks: Sequence[TaskRow], max_nodes: int) -> tuple[list[DrawnTree | None], list[str]]:
    drawn: list[DrawnTree | None] = []
    notes: list[str] = []
    for task in tasks:
        try:
            table = files.tree(task.task_id)
        except (FileNotFoundError, ValueError) as err:
            drawn.append(None)
            notes.append(str(err))
            continue
        drawn.append(draw_tree(table, files.step_notes(task.task_id), files.prompt(task.task_id), max_nodes))
        notes.append("")
    return drawn, notes


def _q_range(drawn: Sequence[DrawnTree | None]) -> tuple[float, float]:
    """One colour scale for every tree of the run (Q of visited nodes), so colours compare across tasks."""
    values = [q for d in drawn if d for q, h in zip(d.q, d.hover) if h[3] > 0]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low, high = min(low, 0.0), max(high, 0.0)
    return (low, high) if high > low else (low, low + 1.0)


def _search_sections(files: RunFiles, max_nodes: int, body: list[str], data: dict) -> None:
    """The run summary, the task picker with one tree per task, and the teacher weights."""
    tasks = files.tasks()
    body.append("<h2>Run</h2>" + page.kv_table(summary_rows(files, tasks)))
    drawn, notes = _drawn_trees(files, tasks, max_nodes)
    q_range = _q_range(drawn)
    data["trees"] = [figures.tree_trace(d, q_range) if d else None for d in drawn]
    data["tree_layout"] = figures.tree_layout()
    data["tasks"] = [
        {"id": t.task_id, "solved": t.solved, "tokens": t.tokens, "simulations": t.simulations, "seconds": t.seconds,
         "calls": t.calls, "best": t.best.strip(), "shown": d.shown if d else 0, "total": d.total if d else 0,
         "note": note}
        for t, d, note in zip(tasks, drawn, notes)
    ]
    if tasks:
        body.append(page.tasks_section(f"Trees above {max_nodes} nodes show their {max_nodes} most visited nodes, "
                                       "the best path and their ancestors."))
    weights = files.weights()
    if weights is not None and weights.task_index:
        data["figures"]["weights"] = figures.weights_figure(weights, files.weight_floor())
        body.append(page.figure_div("weights", "Teacher weights"))


def _training_sections(files: RunFiles, body: list[str], data: dict) -> None:
    """The last row of metrics.csv and one panel per column."""
    metrics = files.metrics()
    rows = max((len(v) for v in metrics.values()), default=0)
    if not rows:
        return
    last = [(f"last {k}", v[-1]) for k, v in metrics.items() if v and not math.isnan(v[-1])]
    body.append("<h2>Training</h2>" + page.kv_table([("run", str(files.path)), ("rows", rows), *last]))
    data["figures"]["metrics"] = figures.series_figure(metrics, "training metrics")
    body.append(page.figure_div("metrics", "Training metrics"))


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, max_nodes: int = DEFAULT_MAX_NODES) -> Path:
    """Writes the HTML report of a search and/or training run directory; returns its path
    (default ``RUN_DIR/report.html``). Trees above ``max_nodes`` nodes are summarised (``mcts.report.trees``)."""
    if max_nodes < 1:
        raise ValueError(f"max_nodes (--max-nodes) must be >= 1 node per tree, got {max_nodes}")
    files = RunFiles(run_dir)
    body: list[str] = []
    data: dict = {"figures": {}, "tasks": [], "trees": []}
    if files.is_search_run:
        _search_sections(files, max_nodes, body, data)
    if files.is_training_run:
        _training_sections(files, body, data)
    if files.config_text():
        body.append(page.details("config.toml", files.config_text()))
    target = Path(out) if out is not None else files.path / "report.html"
    _write(target, page.render_page(f"mcts-llm report: {files.path.name}", "\n".join(body), data))
    return target


def curves_html(curves: Mapping[str, Sequence[Mapping[str, float]]], path: str | os.PathLike, title: str = "search quality") -> Path:
    """A self-contained HTML page of ``{method: [{"budget", "solve_rate", "tokens", ...}]}``: one panel
    per numeric field against budget, one line per method. Returns ``path``."""
    import html

    if not curves:
        raise ValueError("curves is empty: expected {method: [{'budget': ..., 'solve_rate': ...}, ...]}")
    safe = {html.escape(str(m)): list(points) for m, points in curves.items()}
    data = {"figures": {"curves": figures.curves_figure(safe)}}
    target = Path(path)
    _write(target, page.render_page(title, page.figure_div("curves", "Solve rate against budget"), data))
    return target


def _write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
