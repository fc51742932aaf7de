"""Train the bundled countdown models from scratch into ``teachers/models/<name>/``.

    python scripts/train_bundled_models.py                 # all four, then their solve rates
    python scripts/train_bundled_models.py --only countdown-policy --eval-puzzles 0

Seeded and deterministic on one machine and thread count (see ``teachers.training.train``); the
whole set takes minutes on 2 CPU cores. After training, each model's greedy and best-of-8 solve
rates on seeded held-out Game-of-24 puzzles are printed, so the spread of skill is visible.
Needs the ``hf`` extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from teachers.bundled import MODELS_DIR
from teachers.training.data import DATA_KINDS
from teachers.training.recipes import RECIPES, recipe

EVAL_SEED = 2024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME", help="train only this model (repeatable)")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help=f"where the model directories go ({MODELS_DIR})")
    parser.add_argument("--eval-puzzles", type=int, default=100, help="held-out Game-of-24 puzzles to score (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (fixes the result on one machine)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    try:
        chosen = [recipe(name) for name in args.only] if args.only else list(RECIPES)
    except KeyError as error:
        parser.error(str(error.args[0]))
    from teachers.training.train import train

    for r in chosen:
        summary = train(r, args.out / r.name)
        print(f"{r.name}: {summary['parameters']:,} parameters, loss {summary['final_loss']:.4f}, "
              f"{summary['seconds']:.0f} s -> {args.out / r.name}")
    if args.eval_puzzles > 0:
        from mcts.tasks.countdown_eval import evaluate_solve_rates
        from mcts.tasks.countdown_solver import generate_puzzles

        puzzles = generate_puzzles(args.eval_puzzles, EVAL_SEED, count=4, target=24, split="heldout")
        print(f"\nsolve rates on {len(puzzles)} held-out Game-of-24 puzzles (seed {EVAL_SEED}):")
        for r in [r for r in chosen if r.data in DATA_KINDS]:  # the countdown teachers
            rates = evaluate_solve_rates(args.out / r.name, puzzles, k=8, seed=EVAL_SEED)
            print(f"  {r.name:18s} greedy {rates.greedy:6.1%}  best-of-8 {rates.best_of_k:6.1%}  "
                  f"valid steps {rates.greedy_valid_steps:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
