"""``mcts-llm show RUN_DIR``: a run's summary, one task's tree, and a PNG of the teacher weights (and,
for a run with per-context weights, ``weights_contexts.png``: one panel per context) (``--html [PATH]``: also the whole run as one offline HTML page, as ``mcts-llm report`` writes it)."""

from __future__ import annotations

import argparse

from mcts.commands.report import add_html_options, write_report


def register(subparsers) -> None:
    p = subparsers.add_parser("show", help="summarise a run directory", description=__doc__)
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--task", help="task whose tree to draw (default: the first finished task)")
    p.add_argument("--depth", type=int, default=4, help="tree levels to draw")
    p.add_argument("--width", type=int, default=4, help="most visited children drawn per node")
    p.add_argument("--plot", metavar="PNG", help="where to write the weights plot (default RUN_DIR/weights.png)")
    p.add_argument("--html", nargs="?", const="", metavar="PATH",
                   help="also write the HTML report (default RUN_DIR/report.html); see `mcts-llm report`")
    add_html_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.markup import escape

    from mcts.run.report import plot_context_weights, plot_weights, summary_table, tasks_table, tree_view
    from mcts.run.rundir import RunDir

    console = Console()
    run_dir = RunDir(args.run_dir)
    try:
        console.print(summary_table(run_dir))
        console.print(tasks_table(run_dir))
        finished = [r["task_id"] for r in run_dir.finished_rows()]
        task = args.task or (finished[0] if finished else None)
        if task is not None:
            console.print(tree_view(run_dir, task, depth=args.depth, width=args.width))
            console.print(f"weights plot: {plot_weights(run_dir, Path(args.plot) if args.plot else None)}")
            per_context = plot_context_weights(run_dir)
            if per_context is not None:
                console.print(f"weights per context: {per_context}")
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2
    if args.html is not None:
        return write_report(args.run_dir, args.html or None, args.max_nodes)
    return 0
