"""Collect trees -> train a value network -> search with it (a script to copy and adapt).

    python examples/value_guided_search.py --out runs/value-demo

Needs: the ``hf`` and ``plot`` extras and the bundled countdown teachers (the defaults of
``mcts-llm search``); point ``--teacher`` at your own models otherwise. Steps:

1. search ``--tasks`` seeded countdown puzzles with rollouts at the leaves (``OUT/collect``);
2. build (partial text -> backed-up Q) examples, split by task, train a tiny byte-level value net,
   print its held-out calibration and write ``OUT/value/reliability.png``;
3. search fresh puzzles (another seed) with the value net at the leaves (``evaluation.mode =
   "value"``; ``"blend"`` mixes it with rollouts) and print both runs' solve rates and tokens.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def search(out: Path, seed: int, tasks: int, simulations: int, teachers, value_fn=None):
    from mcts.run.config import load_run_config
    from mcts.run.runner import run_search
    from mcts.run.setup import build_tasks, build_teachers
    from mcts.search import ValueEvaluator

    overrides = {"out": str(out), "seed": seed, "search.seed": seed, "num_tasks": tasks,
                 "search.budget.simulations": simulations, "teachers": teachers,
                 "search.evaluation.mode": "value" if value_fn else "rollout"}
    config = load_run_config(None, overrides)
    models = build_teachers(config)
    try:
        factory = (lambda: ValueEvaluator(value_fn)) if value_fn else None
        return run_search(config, build_tasks(config), models, evaluator_factory=factory)
    finally:
        for model in models:
            model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/value-demo")
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--teacher", action="append", help="teacher spec (default: the bundled teachers)")
    args = parser.parse_args()
    out = Path(args.out)

    collected = search(out / "collect", 0, args.tasks, args.simulations, args.teacher)

    from value.value_data import load_value_examples, split_by_task
    from value.valuenet import ValueNetConfig, ValueNetFn, build_value_net, evaluate_value, train_value

    train, held = split_by_task(load_value_examples(out / "collect"), held_out=0.25)
    net = build_value_net(ValueNetConfig(kind="tiny", d_model=64, n_layer=2, n_head=4))
    history = train_value(net, train, held_out=held, target="q", epochs=20)
    (out / "value").mkdir(parents=True, exist_ok=True)
    report = evaluate_value(net, held, plot_path=out / "value" / "reliability.png")
    net.save(out / "value")
    print(f"value net: train MSE {history[-1]['train_mse']:.4f}, held-out {report.to_dict()}")

    guided = search(out / "guided", 1, args.tasks, args.simulations, args.teacher, ValueNetFn(net))
    for name, totals in (("rollouts", collected), ("value net", guided)):
        print(f"{name:>10}: {totals.solved}/{totals.tasks} solved, {totals.tokens} tokens")


if __name__ == "__main__":
    main()
