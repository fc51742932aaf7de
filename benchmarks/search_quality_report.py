"""Tables, floor checks and the plot of ``search_quality.py`` (curves: method -> points per budget)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

CEILING = "oracle_judge_mcts"
DYNAMIC = "mcts_ensemble_dynamic"


def _at(curves: dict[str, list[dict]], method: str, budget: int) -> dict | None:
    return next((p for p in curves.get(method, []) if p["budget"] == budget), None)


def print_table(console: Console, curves: dict[str, list[dict]], budget: int, puzzles: int, reference: str) -> None:
    """One budget's rows, with differences and ratios against the reference (best best-of-N) row."""
    ref = _at(curves, reference, budget)
    table = Table(title=f"budget {budget} generated tokens per puzzle, {puzzles} puzzles; reference {reference}")
    for col in ("method", "solve rate", "Δ vs ref (pts)", "tokens/puzzle", "tokens ÷ ref", "calls/puzzle",
                "judge calls", "judge tokens", "wall s", "wall ÷ ref"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method in curves:
        p = _at(curves, method, budget)
        if p is None:
            continue
        label = f"{method} (ceiling)" if method == CEILING else method
        diff = f"{100 * (p['solve_rate'] - ref['solve_rate']):+.1f}" if ref else "-"
        tok_ratio = f"{p['tokens'] / ref['tokens']:.2f}" if ref and ref["tokens"] else "-"
        wall_ratio = f"{p['wall_s'] / ref['wall_s']:.2f}" if ref and ref["wall_s"] else "-"
        table.add_row(label, f"{p['solve_rate']:.3f}", diff, f"{p['tokens']:.0f}", tok_ratio, f"{p['calls']:.1f}",
                      f"{p['judge_calls']:.1f}", f"{p['judge_tokens']:.0f}", f"{p['wall_s']:.1f}", wall_ratio)
    console.print(table)


def _interpolate(points: list[tuple[float, float]], x: float) -> float:
    """Piecewise-linear y(x) through ``points`` (sorted by x), constant beyond the ends."""
    points = sorted(points)
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def floor_checks(curves: dict[str, list[dict]], reference: str, budgets: list[int]) -> dict:
    """The issue's floors for the dynamic ensemble, as PASS / FAIL / SKIP lines and a dict. Reported, never tuned."""
    lines, results = [], {}

    def report(key: str, ok: bool | None, text: str) -> None:
        results[key] = {"pass": ok, "detail": text}
        lines.append(f"{'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {key}: {text}")

    dyn = {p["budget"]: p for p in curves.get(DYNAMIC, [])}
    ref = {p["budget"]: p for p in curves.get(reference, [])}
    if not dyn or not ref:
        report("all", None, f"needs rows {DYNAMIC} and {reference}")
        return {"lines": lines, "results": results}
    rate = {b: dyn[b]["solve_rate"] for b in dyn}

    sampling = [m for m in curves if m.startswith("best_of_n")]
    misses = [f"{m}@{p['budget']} {p['solve_rate']:.2f}>{rate[p['budget']]:.2f}"
              for m in sampling for p in curves[m] if p["solve_rate"] > rate[p["budget"]]]
    report("dynamic >= every best-of-N row and the union at every budget", not misses, ", ".join(misses) or f"rows {sampling}")

    b50 = min(ref, key=lambda b: abs(ref[b]["solve_rate"] - 0.5))
    gain = 100 * (rate[b50] - ref[b50]["solve_rate"])
    report(">= 15 points above the best best-of-N row where it is nearest 50 %", gain >= 15,
           f"budget {b50}: {rate[b50]:.2f} vs {ref[b50]['solve_rate']:.2f} ({gain:+.1f} points)")

    if 800 in ref and 400 in dyn:
        ok = rate[400] >= ref[800]["solve_rate"]
        report("reaches the best best-of-N row's 800-token rate with <= 400 tokens", ok,
               f"dynamic@400 {rate[400]:.2f} vs {reference}@800 {ref[800]['solve_rate']:.2f}")
    else:
        report("reaches the best best-of-N row's 800-token rate with <= 400 tokens", None, "needs budgets 400 and 800")

    for peer in ("tot_bfs", "ab_mcts_a"):
        if peer not in curves:
            report(f"dynamic >= {peer} at every budget", None, f"{peer} not run")
            continue
        misses = [f"@{p['budget']} {p['solve_rate']:.2f}>{rate[p['budget']]:.2f}" for p in curves[peer] if p["solve_rate"] > rate[p["budget"]]]
        report(f"dynamic >= {peer} at every budget", not misses, ", ".join(misses) or "met at every budget")

    ref_by_wall = [(p["wall_s"], p["solve_rate"]) for p in ref.values()]
    misses = []
    for b in budgets:
        if b in dyn:
            at_wall = _interpolate(ref_by_wall, dyn[b]["wall_s"])
            if rate[b] < at_wall:
                misses.append(f"@{b}: {rate[b]:.2f} in {dyn[b]['wall_s']:.0f}s < {at_wall:.2f}")
    report("at equal wall time (judge included) >= the best best-of-N row", not misses,
           ", ".join(misses) or f"{reference}'s rate interpolated at dynamic's wall time, every budget")
    return {"lines": lines, "results": results}


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    colors = plt.get_cmap("tab20").colors
    markers = {"greedy": "s", "best_of_n": "o", "mcts_single": "^"}
    for i, (method, points) in enumerate(curves.items()):
        family = method.split("[")[0]
        style = "--" if method == CEILING else ":" if family in ("greedy", "best_of_n", "best_of_n_union") else "-"
        label = f"{method} (ceiling)" if method == CEILING else method
        ax.plot([p["tokens"] for p in points], [p["solve_rate"] for p in points], style, color=colors[i % len(colors)],
                marker=markers.get(family, "D"), label=label)
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per puzzle (mean, spent)")
    ax.set_ylabel("solve rate")
    ax.set_ylim(0, 1)
    ax.set_title("Game of 24: search vs sampling vs peers at matched token budgets")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
