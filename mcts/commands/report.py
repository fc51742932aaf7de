"""``mcts-llm report RUN_DIR``: the run as one self-contained HTML page that opens offline.

The page holds the run summary, each task's search tree (a plotly icicle: tiles sized by visits,
coloured by Q, the best path (the task's answer, else the most visited) outlined, hover with the step text, teachers, prior, visits, Q, reward
parts, the judge's verdict and pruning) with a task picker (search by id, failed only), the teacher
weights after each task with the exploration floor, and, for a `mcts-llm train` directory, its
training metrics. plotly.js is inlined once; nothing is fetched when the page opens.
"""

from __future__ import annotations

import argparse

from mcts.report.trees import DEFAULT_MAX_NODES

SUMMARY_RULE = (
    "Trees with more than MAX_NODES nodes are summarised: the MAX_NODES most visited nodes, plus the best "
    "path and every ancestor of a drawn node (the root's label says how many are drawn)."
)


def add_html_options(p: argparse.ArgumentParser) -> None:
    """``--max-nodes``, shared with ``mcts-llm show --html``."""
    p.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, metavar="K",
                   help=f"most nodes drawn per tree (default {DEFAULT_MAX_NODES}). " + SUMMARY_RULE.replace("MAX_NODES", "K"))


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a run directory as one offline HTML page", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="--out of `mcts-llm search` or `mcts-llm train`")
    p.add_argument("-o", "--out", metavar="HTML", help="where to write the page (default RUN_DIR/report.html)")
    add_html_options(p)
    p.set_defaults(run=run)


def write_report(run_dir: str, out: str | None, max_nodes: int) -> int:
    """Builds the page and prints where it is; 2 with the reason on a bad run directory or option."""
    from rich.console import Console
    from rich.markup import escape

    from mcts.report import build_report

    console = Console()
    try:
        path = build_report(run_dir, out, max_nodes=max_nodes)
    except (FileNotFoundError, ValueError, ImportError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", markup=True, highlight=False)
        return 2
    console.print(f"report: {path}", highlight=False)
    return 0


def run(args: argparse.Namespace) -> int:
    return write_report(args.run_dir, args.out, args.max_nodes)
