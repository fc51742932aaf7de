"""Collect trees -> train a value network -> search with it (a script to copy and adapt).

    python examples/value_guided_search.py --out runs/value-demo

Needs: the ``hf`` and ``plot`` extras and the bundled countdown teachers (the defaults of
``mcts-llm search``); point ``--teacher`` at your own models otherwise. Steps:

1. search ``--tasks`` training-side countdown puzzles with rollouts at the leaves and
   ``stop_on_solve = False``, saving the trees (``OUT/collect``; ``value.collect.collect_trees``);
2. one (partial text -> Monte-Carlo value) example per tree node, split by puzzle; fine-tune the
   bundled expert's backbone with a value head (``kind="causal_lm"``), print its calibration on
   the dev puzzles and write ``OUT/value/reliability.png``;
3. search fresh held-out puzzles with the value net at the leaves (``evaluation.mode = "value"``;
   ``"blend"`` mixes it with rollouts) and with rollouts, and print both runs' solve rates and tokens.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXPERT = Path(__file__).resolve().parents[1] / "teachers" / "models" / "countdown-expert"


def search(out: Path, seed: int, tasks: int, simulations: int, teachers, value_fn=None):
    from mcts.run.config import load_run_config
    from mcts.run.runner import run_search
    from mcts.run.setup import build_teachers
    from mcts.search import ValueEvaluator
    from mcts.tasks.countdown_solver import generate_puzzles
    from mcts.tasks.searchable import CountdownTask

    overrides = {"out": str(out), "seed": seed, "search.seed": seed, "search.budget.simulations": simulations,
                 "teachers": teachers, "search.evaluation.mode": "value" if value_fn else "rollout"}
    config = load_run_config(None, overrides)
    models = build_teachers(config)
    try:
        factory = (lambda: ValueEvaluator(value_fn)) if value_fn else None
        puzzles = generate_puzzles(tasks, seed=seed, split="heldout")
        return run_search(config, [CountdownTask(p) for p in puzzles], models, evaluator_factory=factory)
    finally:
        for model in models:
            model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/value-demo")
    parser.add_argument("--tasks", type=int, default=48)
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--teacher", action="append", help="teacher spec (default: the bundled teachers)")
    args = parser.parse_args()
    out = Path(args.out)

    from mcts.run.config import load_run_config
    from mcts.run.setup import build_teachers
    from mcts.tasks.countdown_solver import generate_puzzles
    from value.collect import collect_trees, load_tree_examples
    from value.value_data import split_by_task
    from value.valuenet import ValueNetConfig, ValueNetFn, build_value_net, evaluate_value, train_value

    models = build_teachers(load_run_config(None, {"teachers": args.teacher}))
    try:
        collect_trees(out / "collect", generate_puzzles(args.tasks, seed=0, split="train"), models,
                      side="train", simulations=args.simulations)
    finally:
        for model in models:
            model.close()

    train, dev = split_by_task(load_tree_examples(out / "collect"), held_out=0.25)
    net = build_value_net(ValueNetConfig(kind="causal_lm", backbone=str(EXPERT), freeze_backbone=False, max_length=96))
    history = train_value(net, train, held_out=dev, target="mix", epochs=args.epochs, learning_rate=3e-4,
                          weight_by_visits=True, restore_best=True)
    (out / "value").mkdir(parents=True, exist_ok=True)
    report = evaluate_value(net, dev, target="mix", plot_path=out / "value" / "reliability.png")
    net.save(out / "value")
    print(f"value net: train MSE {history[-1]['train_mse']:.4f}, dev {report.to_dict()}")

    rollouts = search(out / "rollouts", 1, args.tasks, args.simulations, args.teacher)
    guided = search(out / "guided", 1, args.tasks, args.simulations, args.teacher, ValueNetFn(net))
    for name, totals in (("rollouts", rollouts), ("value net", guided)):
        print(f"{name:>10}: {totals.solved}/{totals.tasks} solved, {totals.tokens} tokens")


if __name__ == "__main__":
    main()
