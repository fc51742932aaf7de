"""Value-guided vs rollout-evaluated search at equal generated tokens, on the built-in countdown task.

1. **collect**: search ``--collect-tasks`` seeded Game-of-24 puzzles (training side of the split)
   with rollouts at the leaves (a normal run directory, ``OUT/collect``);
2. **learn**: a tiny byte-level value network (``value.ValueNet``, kind ``"tiny"``) fitted to the
   backed-up Q of every node, split by task; held-out calibration (MSE, Brier, ECE, Spearman) printed;
3. **compare** on fresh held-out puzzles (never collected on), for each per-puzzle budget of
   generated tokens: MCTS with rollouts at the leaves (the default) vs MCTS with the value net at the
   leaves (``evaluation.mode = "value"``; ``--blend`` adds the AlphaGo mix). Both use the same teachers,
   weights scheme, seeds and budget; the only difference is who evaluates a new leaf. A rollout spends
   tokens to evaluate; the value net spends none, so at equal tokens it can run more simulations.

    python benchmarks/value_guided.py --puzzles 50 --budgets 300 600 --json value_guided.json

Prints one table (solve rate, tokens, simulations per puzzle) and the value/rollout ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mcts.run.config import RunConfig
from mcts.run.runner import run_search
from mcts.run.setup import build_teachers
from mcts.search import Blend, Budget, EvaluationConfig, Rollout, Searcher, SearchConfig, ValueEvaluator
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask

DEFAULT_TEACHERS = ("hf:countdown-expert", "hf:countdown-noisy", "hf:countdown-format")


def collect(out: Path, teachers, puzzles: int, simulations: int, seed: int, console: Console) -> None:
    """A rollout-evaluated search run whose trees teach the value net."""
    config = RunConfig(out=str(out), teachers=tuple(teachers), seed=seed, min_free_mb=0,
                       search=SearchConfig(budget=Budget(simulations=simulations), stop_on_solve=False, seed=seed))
    models = build_teachers(config)
    try:
        tasks = [CountdownTask(p) for p in generate_puzzles(puzzles, seed=seed, split="train")]
        run_search(config, tasks, models, console=console)
    finally:
        for model in models:
            model.close()


def learn_value(run: Path, out: Path, epochs: int, console: Console):
    from value.value_data import load_value_examples, split_by_task
    from value.valuenet import ValueNetConfig, ValueNetFn, build_value_net, evaluate_value, train_value

    out.mkdir(parents=True, exist_ok=True)
    train, held = split_by_task(load_value_examples(run), held_out=0.25)
    net = build_value_net(ValueNetConfig(kind="tiny", d_model=64, n_layer=2, n_head=4))
    history = train_value(net, train, held_out=held, target="q", epochs=epochs, weight_by_visits=True)
    report = evaluate_value(net, held, plot_path=out / "reliability.png") if held else None
    net.save(out)
    calibration = report.to_dict() if report else {}
    console.print(f"value net: {len(train)} train / {len(held)} held-out nodes, train MSE "
                  f"{history[-1]['train_mse']:.4f}, held-out {calibration}")
    return ValueNetFn(net), {"train_nodes": len(train), "held_out_nodes": len(held), **calibration}


def run_method(tasks, teachers, evaluator_factory, budget_tokens: int, seed: int) -> dict:
    """One search per task at ``budget_tokens`` generated tokens; teacher weights carry across tasks."""
    cfg = SearchConfig(budget=Budget(simulations=None, tokens=budget_tokens), seed=seed)
    searcher = Searcher(teachers, cfg, evaluator=evaluator_factory)
    solved = tokens = simulations = 0
    start = time.monotonic()
    for i, task in enumerate(tasks):
        result = searcher.search(task, seed=seed + i)
        solved += result.solved
        tokens += result.generated_tokens
        simulations += result.simulations
    n = len(tasks)
    return {"solve_rate": solved / n, "tokens": tokens / n, "simulations": simulations / n,
            "seconds": (time.monotonic() - start) / n}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", dest="teachers", action="append", help="teacher spec (repeatable; default: bundled)")
    parser.add_argument("--collect-tasks", type=int, default=24, help="puzzles searched to train the value net")
    parser.add_argument("--collect-simulations", type=int, default=48)
    parser.add_argument("--value-epochs", type=int, default=30)
    parser.add_argument("--puzzles", type=int, default=50, help="fresh puzzles each method is measured on")
    parser.add_argument("--budgets", type=int, nargs="+", default=[300, 600], help="per-puzzle generated-token budgets")
    parser.add_argument("--blend", type=float, help="also run mode 'blend' with this value weight")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("runs/value-guided"))
    parser.add_argument("--value-net", type=Path, help="skip collect + learn: use this saved value net")
    parser.add_argument("--json", type=Path, help="write per budget and method {solve_rate, tokens, simulations} here")
    args = parser.parse_args(argv)
    console = Console()
    teacher_specs = args.teachers or DEFAULT_TEACHERS

    value_info: dict = {}
    if args.value_net:
        from value.valuenet import ValueNet, ValueNetFn

        value_fn = ValueNetFn(ValueNet.load(args.value_net))
    else:
        if args.out.exists():
            shutil.rmtree(args.out)
        collect(args.out / "collect", teacher_specs, args.collect_tasks, args.collect_simulations, args.seed, console)
        value_fn, value_info = learn_value(args.out / "collect", args.out / "value", args.value_epochs, console)

    methods = {"rollout": None, "value": lambda: ValueEvaluator(value_fn)}
    if args.blend is not None:
        evaluation = EvaluationConfig(mode="blend", blend=args.blend)
        methods[f"blend_{args.blend:g}"] = lambda: Blend(Rollout(evaluation), ValueEvaluator(value_fn), args.blend)
    # Fresh puzzles: a seed the collection never used.
    tasks = [CountdownTask(p) for p in generate_puzzles(args.puzzles, seed=args.seed + 10_000, split="heldout")]
    teachers = build_teachers(RunConfig(teachers=tuple(teacher_specs), device="cpu"))
    results: dict[str, dict[str, dict]] = {}
    try:
        for budget in args.budgets:
            results[str(budget)] = {}
            for name, factory in methods.items():
                stats = run_method(tasks, teachers, factory, budget, args.seed)
                results[str(budget)][name] = stats
                console.print(f"budget {budget}: {name:>10} solve {stats['solve_rate']:.2f}, "
                              f"{stats['tokens']:.0f} tokens, {stats['simulations']:.1f} simulations per puzzle")
    finally:
        for teacher in teachers:
            teacher.close()

    table = Table(title=f"value-guided vs rollout search ({len(tasks)} fresh Game-of-24 puzzles)")
    # per puzzle: solve rate, generated tokens, simulations, seconds; then value/rollout ratios
    for col in ("budget", "method", "solved", "tokens", "sims", "s", "solved x", "sims x"):
        table.add_column(col, justify="right")
    for budget, by_method in results.items():
        base = by_method["rollout"]
        for name, stats in by_method.items():
            ratio = stats["solve_rate"] / base["solve_rate"] if base["solve_rate"] else float("nan")
            table.add_row(budget, name, f"{stats['solve_rate']:.2f}", f"{stats['tokens']:.0f}", f"{stats['simulations']:.1f}",
                          f"{stats['seconds']:.1f}", f"{ratio:.2f}", f"{stats['simulations'] / max(base['simulations'], 1e-9):.2f}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"budgets": results, "value_net": value_info, "puzzles": len(tasks),
                                         "teachers": list(teacher_specs)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
