"""Value-guided vs rollout-evaluated search at equal generated tokens, on the built-in countdown task.

1. **collect**: search ``--collect-tasks`` training-side Game-of-24 puzzles with rollouts at the
   leaves and ``stop_on_solve = False`` (every simulation runs, so subtrees get Monte-Carlo returns);
   the trees are saved under ``OUT/collect`` (:func:`value.collect.collect_trees`; a held-out puzzle
   is refused). ``--eval-tasks`` held-out-side puzzles are searched the same way (``OUT/heldout-trees``):
   their trees are what the value net is judged on, never trained on.
2. **learn**: one example per informative tree node (:func:`value.tree_values.tree_examples`),
   target ``"mix"`` (the node's backed-up Q and its subtree's terminal returns, weighted by their
   sample counts); a 1/5 dev split of the *training* puzzles picks the epoch (lowest dev MSE). The
   net is the bundled expert's GPT-2 backbone (its tokenizer: a number is one token), fine-tuned with
   a sigmoid head on the last token (``value.ValueNet`` kind ``"causal_lm"``).
3. **judge** on the held-out trees: AUC and Spearman against the solver's truth "this state can still
   reach the target" (:mod:`value.countdown_truth`), and MSE/Brier/ECE/Spearman against the
   Monte-Carlo targets (:func:`value.valuenet.evaluate_value`); ``--plot`` writes the reliability PNG.
4. **compare** on fresh held-out puzzles (neither collected nor judged on), per per-puzzle budget of
   generated tokens: MCTS with rollouts at the leaves vs the value net at the leaves (``--blend W``
   adds the AlphaGo mix), under the default search settings and under ``--focused`` ones (one leaf
   per iteration, one proposal per teacher, ``c_explore`` 0.3: chosen on training-side dev puzzles).
   The only difference within a setting is who evaluates a new leaf: a rollout spends tokens, the
   value net none. ``--solver-ceiling`` adds the solver's truth as the value (a perfect value net,
   diagnostic only): the most a value at the leaves can give under those settings.

    python benchmarks/value_guided.py --blend 0.5 --focused --json benchmarks/results/value_guided.json \\
        --plot benchmarks/results/value_guided_reliability.png
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
from mcts.run.setup import build_teachers
from mcts.search import Blend, Budget, EvaluationConfig, ExpansionConfig, Rollout, Searcher, SearchConfig, ValueEvaluator
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from mcts.tree import TreeConfig

DEFAULT_TEACHERS = ("hf:countdown-expert", "hf:countdown-noisy", "hf:countdown-format")
EXPERT_BACKBONE = Path(__file__).resolve().parents[1] / "teachers" / "models" / "countdown-expert"
# Search settings where a value at the leaves pays off (picked on training-side dev puzzles with the
# solver as a stand-in value: depth before breadth, every token on the leaf the value prefers).
FOCUSED = dict(expansion=ExpansionConfig(batch_leaves=1, proposals_per_teacher=1), selection=TreeConfig(c_explore=0.3))


def learn_value(collect: Path, out: Path, epochs: int, learning_rate: float, console: Console):
    """Fits the value net on the collected training-side trees; returns it and its training summary."""
    from value.collect import load_tree_examples
    from value.countdown_truth import check_training_side
    from value.value_data import split_by_task
    from value.valuenet import ValueNetConfig, build_value_net, train_value

    examples = load_tree_examples(collect)
    check_training_side([e.prompt for e in examples])
    train, dev = split_by_task(examples, held_out=0.2, seed=0)
    net = build_value_net(ValueNetConfig(kind="causal_lm", backbone=str(EXPERT_BACKBONE), freeze_backbone=False, max_length=96))
    start = time.monotonic()
    history = train_value(net, train, held_out=dev, target="mix", epochs=epochs, learning_rate=learning_rate,
                          weight_by_visits=True, restore_best=True, device="cpu")
    best = min(history, key=lambda row: row["held_out_mse"])
    net.save(out)
    console.print(f"value net: {len(train)} train / {len(dev)} dev nodes, best epoch {best['epoch']} "
                  f"(dev MSE {best['held_out_mse']:.4f}), {time.monotonic() - start:.0f} s")
    return net, {"train_nodes": len(train), "dev_nodes": len(dev), "epochs": epochs, "best_epoch": best["epoch"],
                 "history": history, "train_seconds": time.monotonic() - start}


def judge_value(net, heldout_trees: Path, plot: Path | None, console: Console) -> dict:
    """Solver-truth ranking and Monte-Carlo calibration of ``net`` on the held-out trees."""
    from value.collect import load_tree_examples
    from value.countdown_truth import reachable, solver_metrics
    from value.valuenet import evaluate_value

    examples = load_tree_examples(heldout_trees)
    predictions = net.predict([e.text for e in examples])
    truth = solver_metrics(predictions, [reachable(e.prompt, e.steps) for e in examples])
    calibration = evaluate_value(net, examples, target="mix", plot_path=plot)
    console.print(f"held-out trees ({truth.n} nodes, {truth.positive_rate:.2f} reachable): solver AUC {truth.auc:.3f}, "
                  f"Spearman {truth.spearman:.3f}; vs MC targets {calibration.to_dict()}")
    return {"solver": truth.to_dict(), "calibration": calibration.to_dict()}


def run_method(tasks, teachers, evaluator_factory, budget_tokens: int, seed: int, settings: dict) -> dict:
    """One search per task at ``budget_tokens`` generated tokens; teacher weights carry across tasks."""
    cfg = SearchConfig(budget=Budget(simulations=None, tokens=budget_tokens), seed=seed, **settings)
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


def fresh_heldout(n: int, seed: int, exclude) -> list:
    """``n`` held-out-side puzzles whose number sets are not in ``exclude`` (those judged on)."""
    taken = {tuple(sorted(p.numbers)) for p in exclude}
    pool = generate_puzzles(n + len(taken), seed=seed, split="heldout")
    return [p for p in pool if tuple(sorted(p.numbers)) not in taken][:n]


def print_table(results: dict, n_tasks: int, console: Console) -> None:
    table = Table(title=f"value-guided vs rollout search ({n_tasks} fresh held-out Game-of-24 puzzles)")
    # per puzzle: solve rate, generated tokens, simulations, seconds; then the ratio to rollouts
    for col in ("budget", "settings", "method", "solved", "tokens", "sims", "s", "solved x"):
        table.add_column(col, justify="right")
    for budget, by_setting in results.items():
        for setting, by_method in by_setting.items():
            base = by_method["rollout"]["solve_rate"]
            for name, stats in by_method.items():
                ratio = stats["solve_rate"] / base if base else float("nan")
                table.add_row(budget, setting, name, f"{stats['solve_rate']:.2f}", f"{stats['tokens']:.0f}",
                              f"{stats['simulations']:.1f}", f"{stats['seconds']:.2f}", f"{ratio:.2f}")
    console.print(table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", dest="teachers", action="append", help="teacher spec (repeatable; default: bundled)")
    parser.add_argument("--collect-tasks", type=int, default=400, help="training-side puzzles searched to train the value net")
    parser.add_argument("--eval-tasks", type=int, default=80, help="held-out-side puzzles whose trees judge the value net")
    parser.add_argument("--collect-simulations", type=int, default=48)
    parser.add_argument("--value-epochs", type=int, default=8)
    parser.add_argument("--value-lr", type=float, default=3e-4)
    parser.add_argument("--puzzles", type=int, default=50, help="fresh puzzles each method is measured on")
    parser.add_argument("--budgets", type=int, nargs="+", default=[300, 600], help="per-puzzle generated-token budgets")
    parser.add_argument("--blend", type=float, help="also run mode 'blend' with this value weight")
    parser.add_argument("--focused", action="store_true", help="also compare under the FOCUSED search settings")
    parser.add_argument("--solver-ceiling", action="store_true",
                        help="also search with the solver's truth as the value (a perfect value net: diagnostic only)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("runs/value-guided"))
    parser.add_argument("--value-net", type=Path, help="skip collect + learn: use this saved value net")
    parser.add_argument("--plot", type=Path, help="reliability PNG of the value net on the held-out trees")
    parser.add_argument("--json", type=Path, help="write the value net's numbers and per budget/method results here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from value.collect import collect_trees
    from value.valuenet import ValueNet, ValueNetFn

    console = Console()
    teacher_specs = tuple(args.teachers or DEFAULT_TEACHERS)
    teachers = build_teachers(RunConfig(teachers=teacher_specs, device="cpu"))
    results: dict[str, dict[str, dict]] = {}
    try:
        judged = generate_puzzles(args.eval_tasks, seed=args.seed + 20_000, split="heldout")
        value_info: dict = {}
        if args.value_net:
            net = ValueNet.load(args.value_net)
        else:
            if args.out.exists():
                shutil.rmtree(args.out)
            start = time.monotonic()
            collect_trees(args.out / "collect", generate_puzzles(args.collect_tasks, seed=args.seed, split="train"),
                          teachers, side="train", simulations=args.collect_simulations, seed=args.seed)
            value_info["collect_seconds"] = time.monotonic() - start
            net, info = learn_value(args.out / "collect", args.out / "value", args.value_epochs, args.value_lr, console)
            value_info.update(info)
        if not (args.out / "heldout-trees" / "puzzles.jsonl").is_file():
            collect_trees(args.out / "heldout-trees", judged, teachers, side="heldout",
                          simulations=args.collect_simulations, seed=args.seed + 20_000)
        if args.plot:
            args.plot.parent.mkdir(parents=True, exist_ok=True)
        value_info.update(judge_value(net, args.out / "heldout-trees", args.plot, console))

        value_fn = ValueNetFn(net)
        methods = {"rollout": None, "value": lambda: ValueEvaluator(value_fn)}
        if args.blend is not None:
            evaluation = EvaluationConfig(mode="blend", blend=args.blend)
            methods[f"blend_{args.blend:g}"] = lambda: Blend(Rollout(evaluation), ValueEvaluator(value_fn), args.blend)
        if args.solver_ceiling:
            from value.countdown_truth import SolverValueFn

            methods["solver_value"] = lambda: ValueEvaluator(SolverValueFn())
        settings = {"default": {}, **({"focused": FOCUSED} if args.focused else {})}
        tasks = [CountdownTask(p) for p in fresh_heldout(args.puzzles, args.seed + 10_000, judged)]
        for budget in args.budgets:
            results[str(budget)] = {}
            for setting, overrides in settings.items():
                results[str(budget)][setting] = {}
                for name, factory in methods.items():
                    stats = run_method(tasks, teachers, factory, budget, args.seed, overrides)
                    results[str(budget)][setting][name] = stats
                    console.print(f"budget {budget} {setting}: {name:>10} solve {stats['solve_rate']:.2f}, "
                                  f"{stats['tokens']:.0f} tokens, {stats['simulations']:.1f} simulations per puzzle")
    finally:
        for teacher in teachers:
            teacher.close()

    print_table(results, len(tasks), console)
    if args.json:
        args.json.write_text(json.dumps({"budgets": results, "value_net": value_info, "puzzles": len(tasks),
                                         "teachers": list(teacher_specs)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
