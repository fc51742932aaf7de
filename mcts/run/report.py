"""Reading a run directory back: a summary table, one task's tree, and plots of the teacher weights
(after every task; and, for a run with per-context weights, in each context over the run's credits)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree as RichTree

from mcts.run.rundir import RunDir, read_jsonl_rows


def summary_table(run: RunDir) -> Table:
    if not run.summary.exists():
        raise FileNotFoundError(f"{run.path} is not a run directory (no summary.json); run `mcts-llm search --out {run.path}`")
    summary = json.loads(run.summary.read_text(encoding="utf-8"))
    table = Table(title=f"run {run.path}", show_header=False)
    for key in ("tasks", "solved", "solve_rate", "tokens", "simulations", "seconds", "wall_seconds", "stopped"):
        value = summary.get(key)
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    for name, p in (summary.get("teacher_probabilities") or {}).items():
        table.add_row(f"p({name})", f"{p:.3f}")
    return table


def tasks_table(run: RunDir, limit: int = 20) -> Table:
    table = Table(title="tasks")
    for col in ("task", "solved", "tokens", "sims", "seconds", "best"):
        table.add_column(col)
    for row in read_jsonl_rows(run.tasks)[:limit]:
        best = (row.get("best") or "").strip().replace("\n", " | ")
        table.add_row(row["task_id"], "yes" if row["solved"] else "no", str(row["tokens"]), str(row["simulations"]),
                      f"{row['seconds']:.1f}", best[:60])
    return table


def tree_view(run: RunDir, task_id: str, *, depth: int = 4, width: int = 4) -> RichTree:
    """The most visited ``width`` children of each node, ``depth`` levels down; children on a path to
    a rewarded terminal come first, so a solution found by the last simulation still shows."""
    from mcts.tree_io import load_tree

    path = run.tree_path(task_id)
    if not path.exists():
        known = sorted(p.stem for p in run.trees.glob("*.tree"))
        raise FileNotFoundError(f"no tree for task {task_id!r} in {run.trees}; saved: {known[:10]}")
    tree, weights = load_tree(path)
    names = list(weights.names) if weights is not None else []
    rewarded = {int(n) for p in tree.terminal_paths() if tree.node(int(p[-1])).reward > 0 for n in p}

    def label(node: int) -> str:
        v = tree.node(node)
        teacher = names[v.teacher] if 0 <= v.teacher < len(names) else "-"
        mark = " [green]✓[/green]" if v.terminal and v.reward > 0 else (" [red]✗[/red]" if v.terminal else "")
        # Model output and teacher names are text, not rich markup.
        return f"{escape(repr(v.action.strip()))}  N={v.visits} Q={v.q:.2f} P={v.prior:.2f} r={v.reward:.2f} {escape(f'[{teacher}]')}{mark}"

    root = RichTree(f"[bold]{task_id}[/bold]  N={tree.node(0).visits} nodes={len(tree)}")

    def grow(rich_node: RichTree, node: int, level: int) -> None:
        if level >= depth:
            return
        kids = tree.children(node)
        order = sorted(range(len(kids.ids)), key=lambda i: (int(kids.ids[i]) not in rewarded, -int(kids.visits[i])))[:width]
        for i in order:
            child = int(kids.ids[i])
            grow(rich_node.add(label(child)), child, level + 1)

    grow(root, 0, 0)
    return root


def plot_weights(run: RunDir, out: Path | None = None) -> Path:
    """A PNG of teacher probabilities after each task (from weights.csv)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not run.weights_csv.exists():
        raise FileNotFoundError(f"{run.weights_csv} does not exist: no task of this run has finished yet")
    with open(run.weights_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    names = header[2:]
    x = [int(r[0]) + 1 for r in body]
    fig, ax = plt.subplots(figsize=(7, 4))
    for j, name in enumerate(names):
        ax.plot(x, [float(r[2 + j]) for r in body], marker="o", label=name)
    ax.set_xlabel("tasks finished")
    ax.set_ylabel("teacher probability")
    ax.set_ylim(0, 1)
    ax.set_title("dynamic teacher weights")
    ax.legend()
    fig.tight_layout()
    out = out or run.path / "weights.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def last_saved_weights(run: RunDir):
    """The teacher weights saved with the run's last finished task (every context and its history), or None."""
    from mcts.tree_io import load_tree

    for row in reversed(read_jsonl_rows(run.tasks)):
        path = run.tree_path(row["task_id"])
        if path.exists():
            return load_tree(path)[1]
    return None


def plot_context_weights(run: RunDir, out: Path | None = None, max_panels: int = 6) -> Path | None:
    """A PNG with one panel per context that was credited in (the first ``max_panels``): each teacher's
    probability in that context after every credit that touched it, on the run's common credit axis
    (``TeacherWeights.history_rows``), read from the weights saved with the last finished task. None
    for a run without contexts."""
    weights = last_saved_weights(run)
    if weights is None:
        return None
    contexts = [c for c in range(weights.num_contexts) if weights.evidence(c) > 0][:max_panels]
    if not contexts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(contexts), figsize=(3.2 * len(contexts) + 1, 3.4), sharey=True, squeeze=False)
    for ax, context in zip(axes[0], contexts):
        history, at = weights.history(context), weights.history_rows(context)
        for j, name in enumerate(weights.names):
            ax.plot(at, history[:, j], label=name)
        ax.set_title(f"context {context} ({weights.evidence(context)} credits)", fontsize=9)
        ax.set_xlabel("credits (whole run)")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("teacher probability")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle("teacher weights per context")
    fig.tight_layout()
    out = out or run.path / "weights_contexts.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
