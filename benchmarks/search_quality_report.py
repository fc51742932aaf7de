"""Tables, floor checks and the plot of ``search_quality.py`` (curves: method -> points per budget)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

CEILING = "oracle_judge_mcts"
DYNAMIC = "mcts_ensemble_dynamic"
GLOBAL = "mcts_ensemble_global"
UNIFORM = "mcts_ensemble_uniform"
REFERENCE_TEACHER = "[oracle_mix]"  # rows of the per-context oracle teacher: references, never floors' rivals


def is_reference(method: str) -> bool:
    return method == CEILING or method.endswith(REFERENCE_TEACHER)


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
        label = f"{method} (ceiling)" if method == CEILING else f"{method} (reference)" if is_reference(method) else method
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

    sampling = [m for m in curves if m.startswith("best_of_n") and not is_reference(m)]
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


def ensemble_floor_checks(curves: dict[str, list[dict]], teacher_set: str, teachers: list[str],
                          final_weights: dict | None, route, oracle: str) -> dict:
    """Issue 13's floors for the teacher set, as PASS / FAIL / SKIP lines and a dict. Reported, never tuned.

    complementary: dynamic > global > uniform and dynamic >= every single teacher's best-of-N and MCTS row
    and the union, at every budget; the oracle mix's best-of-N >= 20 points above the best single teacher's
    at 400 tokens; the final per-context weights rank the teacher the route names first in each context.
    ladder: dynamic within 3 points of the first (best) teacher's MCTS at every budget >= 200, above it at
    the largest.
    """
    lines, results = [], {}

    def report(key: str, ok: bool | None, text: str) -> None:
        results[key] = {"pass": ok, "detail": text}
        lines.append(f"{'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  [{teacher_set}] {key}: {text}")

    def rates(method: str) -> dict[int, float]:
        return {p["budget"]: p["solve_rate"] for p in curves.get(method, [])}

    dyn = rates(DYNAMIC)
    if not dyn:
        report("all", None, f"needs the {DYNAMIC} row")
        return {"lines": lines, "results": results}
    if teacher_set == "ladder":
        single = rates(f"mcts_single[{teachers[0]}]")
        if not single:
            report("all", None, f"needs mcts_single[{teachers[0]}]")
            return {"lines": lines, "results": results}
        gaps = {b: 100 * (dyn[b] - single[b]) for b in dyn if b in single and b >= 200}
        report(f"within 3 points of mcts_single[{teachers[0]}] at every budget >= 200", all(g >= -3 for g in gaps.values()),
               ", ".join(f"@{b} {g:+.0f}" for b, g in sorted(gaps.items())))
        if gaps:
            top = max(gaps)
            report(f"above mcts_single[{teachers[0]}] at the largest budget", gaps[top] > 0, f"@{top} {gaps[top]:+.0f} points")
        return {"lines": lines, "results": results}
    if teacher_set != "complementary":
        report("all", None, f"no floors for teacher set {teacher_set!r}")
        return {"lines": lines, "results": results}
    glob, uni = rates(GLOBAL), rates(UNIFORM)
    order = [f"@{b} {dyn[b]:.2f} / {glob.get(b, float('nan')):.2f} / {uni.get(b, float('nan')):.2f}" for b in sorted(dyn)]
    ok = bool(glob and uni) and all(b in glob and b in uni and dyn[b] > glob[b] > uni[b] for b in dyn)
    report("dynamic > global > uniform at every budget", ok if glob and uni else None, ", ".join(order))
    rivals = [m for m in curves if not is_reference(m) and m.split("[")[0] in ("best_of_n", "mcts_single", "best_of_n_union")]
    misses = [f"{m}@{b} {r:.2f}>{dyn[b]:.2f}" for m in rivals for b, r in rates(m).items() if b in dyn and r > dyn[b]]
    report("dynamic >= every best_of_n[T], mcts_single[T] and the union at every budget", not misses,
           ", ".join(misses) or f"rows {rivals}")
    mix, singles = rates(f"best_of_n[{oracle}]"), {t: rates(f"best_of_n[{t}]").get(400) for t in teachers}
    if 400 in mix and all(v is not None for v in singles.values()):
        best = max(singles, key=lambda t: singles[t])
        gain = 100 * (mix[400] - singles[best])
        report("oracle mix best-of-N >= 20 points above the best single teacher's at 400 tokens", gain >= 20,
               f"{mix[400]:.2f} vs best_of_n[{best}] {singles[best]:.2f} ({gain:+.0f} points)")
    else:
        report("oracle mix best-of-N >= 20 points above the best single teacher's at 400 tokens", None,
               f"needs best_of_n[{oracle}] and every best_of_n[T] at 400")
    if final_weights and route:
        wrong = []
        for context, probs in final_weights.items():
            if context == "global" or int(context) > 2:
                continue
            want, leader = teachers[route(int(context))], max(probs, key=lambda t: probs[t])
            if leader != want:
                wrong.append(f"depth {context}: {leader} leads, {want} is best")
        report("final weights rank the best teacher first in each context (depths 0-2)", not wrong,
               "; ".join(wrong) or ", ".join(f"depth {c}: {max(p, key=lambda t: p[t])}" for c, p in final_weights.items() if c != "global"))
    else:
        report("final weights rank the best teacher first in each context (depths 0-2)", None, "no per-context weights")
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
        style = "--" if is_reference(method) else ":" if family in ("greedy", "best_of_n", "best_of_n_union") else "-"
        label = f"{method} (ceiling)" if method == CEILING else f"{method} (reference)" if is_reference(method) else method
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
