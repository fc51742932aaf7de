"""``mcts-llm export-pairs``: chosen/rejected sibling pairs of a search run, for TRL's DPO / ORPO."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-pairs",
        help="write DPO/ORPO preference pairs (high- vs low-value siblings) as JSONL",
        description="From a run directory's trajectories, pair the children of each node whose values differ by at "
        "least --margin and write JSONL rows {prompt, chosen, rejected, task_id, chosen_value, rejected_value}: "
        "the format trl.DPOTrainer and ORPOTrainer read (`mcts-llm train --algo dpo|orpo --pairs`).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `mcts-llm search` (or its trajectories.jsonl)")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="where the pairs go (written atomically)")
    p.add_argument("--margin", type=float, default=0.1, help="least value gap between chosen and rejected (default 0.1)")
    p.add_argument("--value", choices=["q", "mc_return"], default="q", help="sibling value: backed-up Q or Monte-Carlo mean")
    p.add_argument("--min-visits", type=int, default=1, help="leave out children visited fewer times (default 1)")
    p.add_argument("--max-pairs-per-group", type=int, default=4, help="pairs per parent, largest gaps first (0 = all)")
    p.add_argument("--to-terminal", action="store_true",
                   help="continue each side with its best logged path to the end (for `mcts-llm train --algo dpo|orpo`: "
                   "TRL ends every completion with EOS)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from mcts.train import export_pairs, load_records

    console = Console(stderr=True)
    if args.max_pairs_per_group < 0 or args.min_visits < 0:
        console.print("[red]error:[/red] --max-pairs-per-group and --min-visits must be >= 0")
        return 2
    try:
        records = load_records(args.run_dir)
        count = export_pairs(
            records, args.out, margin=args.margin, value=args.value, min_visits=args.min_visits,
            max_pairs_per_group=args.max_pairs_per_group or None, to_terminal=args.to_terminal,
        )
    except (ValueError, OSError) as err:  # a bad run, a directory as --out, a full disk
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2
    console.print(f"{count} pairs from {len(records)} paths -> {args.out}")
    if count == 0:
        console.print(
            "[yellow]no sibling pair differs by the margin[/yellow]: lower --margin, or search with more "
            "simulations and stop_on_solve = false so that nodes get several children"
        )
    return 0
