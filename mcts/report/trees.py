"""Which nodes of a tree the report draws, and what each drawn node says (no plotting here).

The summary rule (also in ``mcts-llm report --help`` and the README): a tree with more than
``max_nodes`` nodes is drawn as its ``max_nodes`` most visited nodes (ties: the older node), plus the
best path (the task's answer as tasks.jsonl records it, else the most visited child at each level) and
every ancestor of a drawn node, so the drawing stays one connected tree. The root's label says how many nodes are drawn out of how many. Tiles are sized by
visits (an unvisited step by half a visit), so the room left empty under a parent is the visits of
its children that were left out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from mcts.report.runfiles import StepNote, TreeTable

#: Default ``max_nodes``: 1,000 trees of this size keep the page under 20 MB (benchmarks/report_size.py).
DEFAULT_MAX_NODES = 60
LABEL_CHARS = 32
HOVER_CHARS = 300


@dataclass(frozen=True)
class DrawnTree:
    """Parallel lists, one entry per drawn node, ready for a plotly icicle trace."""

    ids: list[str]
    parents: list[str]
    labels: list[str]
    values: list[float]
    q: list[float]
    best: list[bool]
    hover: list[list]  # [step, teachers, prior, visits, Q, reward, parts, judge, flags]
    shown: int
    total: int


def escape_text(text: str, limit: int) -> str:
    """Model text made safe for plotly's HTML-like labels: escaped, newlines as <br>, cut to ``limit``."""
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text).replace("\n", "<br>")


def keep_nodes(table: TreeTable, max_nodes: int) -> np.ndarray:
    """Sorted ids of the nodes to draw (see the module doc for the rule)."""
    n = len(table)
    if n <= max_nodes:
        return np.arange(n)
    order = np.lexsort((np.arange(n), -table.visits.astype(np.int64)))  # visits desc, then id asc
    keep = np.zeros(n, dtype=bool)
    keep[order[:max_nodes]] = True
    keep[list(table.best_path)] = True
    parent = table.parent
    for node in np.flatnonzero(keep)[::-1]:  # children have larger ids than their parents
        p = int(parent[node])
        while p >= 0 and not keep[p]:
            keep[p] = True
            p = int(parent[p])
    return np.flatnonzero(keep)


def _tile_values(ids: np.ndarray, parent: np.ndarray, visits: np.ndarray) -> dict[int, float]:
    """Visits per drawn node, raised where needed so that a parent is at least the sum of its children
    (plotly's ``branchvalues="total"``); unvisited nodes count half a visit so they stay visible."""
    kept = set(int(i) for i in ids)
    child_sum: dict[int, float] = {}
    value: dict[int, float] = {}
    for node in (int(i) for i in ids[::-1]):
        value[node] = max(float(visits[node]) or 0.5, child_sum.get(node, 0.0))
        p = int(parent[node])
        if p in kept:
            child_sum[p] = child_sum.get(p, 0.0) + value[node]
    return value


def _teachers(table: TreeTable, node: int, note: StepNote | None) -> str:
    if note is not None and note.teachers:
        return ", ".join(note.teachers)
    t = int(table.teacher[node])
    if 0 <= t < len(table.teacher_names):
        return table.teacher_names[t]
    return "-" if node else ""


def _flags(table: TreeTable, node: int, note: StepNote | None) -> tuple[str, str]:
    """(label prefix, hover words): solved end, terminal, pruned."""
    if note is not None and note.pruned:
        return "⊘ ", "pruned by the judge"
    if note is not None and note.solved_end:
        return "✓ ", "terminal, solved"
    if bool(table.terminal[node]):
        return "✗ ", "terminal, not solved"
    return "", ""


def draw_tree(table: TreeTable, notes: dict[int, StepNote], prompt: str, max_nodes: int) -> DrawnTree:
    """The drawn nodes of one tree, with escaped labels and hover fields."""
    ids = keep_nodes(table, max_nodes)
    actions = table.actions(ids.astype(np.int32))
    values = _tile_values(ids, table.parent, table.visits)
    best = set(table.best_path)
    out = DrawnTree([], [], [], [], [], [], [], shown=len(ids), total=len(table))
    for node, action in zip((int(i) for i in ids), actions):
        note = notes.get(node)
        prefix, flags = _flags(table, node, note)
        if node == 0:
            label = f"root ({len(ids)} of {len(table)} nodes)" if len(ids) < len(table) else "root"
            step = escape_text(prompt, HOVER_CHARS) or "(the prompt)"
        else:
            label = prefix + escape_text(action, LABEL_CHARS)
            step = escape_text(action, HOVER_CHARS)
        parts = ", ".join(f"{html.escape(k)} {v:.3g}" for k, v in (note.reward_parts if note else {}).items())
        judge = "" if note is None or note.judge is None else f"{note.judge:+.2f}"
        out.ids.append(str(node))
        out.parents.append(str(int(table.parent[node])) if node else "")
        out.labels.append(label or "(empty step)")
        out.values.append(values[node])
        out.q.append(round(float(table.q[node]), 4))
        out.best.append(node in best)
        out.hover.append([
            step, html.escape(_teachers(table, node, note)), round(float(table.prior[node]), 4),
            int(table.visits[node]), round(float(table.q[node]), 4), round(float(table.reward[node]), 4),
            parts or "-", judge or "-", flags or "-",
        ])
    return out
