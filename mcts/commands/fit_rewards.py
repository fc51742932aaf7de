"""``mcts-llm fit-rewards TUNING.jsonl``: fit the metric-ensemble weights on a hand-labelled tuning set.

Rows are ``{"text", "score", "prompt"?, "reference"?, "id"?}`` (``value.fit``: non-negative least
squares, held-out fit by leave-one-out or k-fold). Prints the fit on the held-out part (Spearman rank
correlation, R², MAE) and writes the ``[rewards]`` table to paste into a run config.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# The keys fitted by default: every reward that needs no scoring model.
DEFAULT_KEYS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "embedding", "length_penalty")
MODEL_KEYS = ("perplexity_reward", "step_likelihood")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit-rewards",
        help="fit the metric-ensemble weights on a hand-labelled tuning set; write the [rewards] TOML",
        description="Score every row of TUNING.jsonl ({text, score, prompt?, reference?, id?}) with the reward "
        "metrics, fit non-negative weights to the human scores, print the fit on held-out rows (Spearman, R2, "
        "MAE) and write the [rewards] table for a run config (e.g. value/data/toy_tuning_set.jsonl).",
    )
    p.add_argument("tuning", metavar="TUNING.jsonl", help="hand-labelled rows {text, score, prompt?, reference?, id?}")
    p.add_argument("--keys", help=f"comma-separated reward keys to fit (default: {','.join(DEFAULT_KEYS)}, plus "
                   f"{','.join(MODEL_KEYS)} with --scoring-model)")
    p.add_argument("--scoring-model", metavar="PATH_OR_NAME", help="causal LM for the perplexity rewards")
    p.add_argument("--ridge", type=float, default=0.0, help="L2 penalty that spreads weight over correlated metrics")
    p.add_argument("--folds", type=int, help="k-fold held-out fit (default: leave-one-out up to 50 rows, else 5)")
    p.add_argument("--out", metavar="FILE.toml", help="also write the TOML fragment here")
    p.set_defaults(run=run)


def fragment(weights: dict[str, float], report, tuning: str, scoring_model: str | None) -> str:
    """The TOML to paste into a run config: ``scoring_model`` (a top-level key) and the ``[rewards]`` table."""
    head = [f"# mcts-llm fit-rewards {tuning}: {report.n_rows} rows, {report.method}, {report.heldout} "
            f"Spearman {report.spearman_heldout:.3f}, R2 {report.r2_heldout:.3f}"]
    if scoring_model is not None:
        head.append(f"scoring_model = {_quote(scoring_model)}  # top-level: keep it above the first [table]")
    return "\n".join([*head, "[rewards]", *(f"{k} = {w:.6g}" for k, w in weights.items())]) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True)
    try:
        from value import build_ensemble, fit_weights

        keys = [k.strip() for k in args.keys.split(",") if k.strip()] if args.keys else (
            [*DEFAULT_KEYS, *(MODEL_KEYS if args.scoring_model else ())])
        scoring_model = None
        if args.scoring_model:
            from teachers.loading import resolve_model_path

            scoring_model = str(resolve_model_path(args.scoring_model))
        ensemble = build_ensemble({k: 1.0 for k in keys}, scoring_model=scoring_model)
        result = fit_weights(ensemble, args.tuning, keys=keys, ridge=args.ridge, folds=args.folds)
        text = fragment(result.weights, result.report, args.tuning, args.scoring_model)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
    except (ValueError, OSError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2
    r = result.report
    table = Table(title=f"{r.n_rows} rows, {r.method}, held out: {r.heldout}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (("Spearman (held out)", r.spearman_heldout), ("R2 (held out)", r.r2_heldout),
                        ("MAE (held out)", r.mae_heldout), ("R2 (train)", r.r2_train)):
        table.add_row(name, f"{value:.3f}")
    console.print(table)
    print(text, end="")  # stdout: the fragment alone, so `> rewards.toml` captures it
    if args.out:
        console.print(f"wrote {args.out}")
    return 0
