"""Choose search settings on a dev set (never on the benchmark's puzzles).

Held-out-side countdown puzzles from a seed the benchmarks do not use (777) with targets 20..30 other
than 24 (so none is a puzzle the benchmarks report; ``--hard``: hard ones), equal generated-token
budget per puzzle; compares best-of-n of the expert with MCTS over the bundled teachers under a few
settings. ``--judge solver`` puts the exact solver in the judge's seat (the ceiling);
``--judge NAME`` a bundled or local judge model.

    python benchmarks/search_settings_dev.py --puzzles 40 --budget 400 --judge solver
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from mcts.baselines import best_of_n
from mcts.run.config import DEFAULT_TEACHERS
from mcts.search import Budget, JudgeConfig, Searcher, SearchConfig
from mcts.tasks.countdown import Puzzle
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask

DEV_SEED = 777
DEV_TARGETS = (20, 30)  # around 24; the teachers and the judge train on targets 1..100 (training side)


def dev_puzzles(n: int, hard: bool) -> list[Puzzle]:
    """``n`` held-out-side puzzles of seed DEV_SEED with targets DEV_TARGETS (24 left out, so none is a
    puzzle the benchmarks report), drawn as the benchmarks draw theirs. Their difficulty is close to
    the benchmark's (share of first moves that still win: 0.21 here, 0.26 for search_quality.py's 100);
    the held-out Game-of-24 puzzles that the benchmarks leave over are mostly easy ones (0.39)."""
    pool = generate_puzzles(3 * n + 30, seed=DEV_SEED, target=DEV_TARGETS, split="heldout", hard=hard)
    chosen = [p for p in pool if p.target != 24][:n]
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} dev puzzles; lower --puzzles")
    return chosen


SETTINGS = {
    "no judge": None,
    "prune": JudgeConfig(),
    "prune+prior1": JudgeConfig(prior_weight=1.0),
    "prune+value0.5": JudgeConfig(value_weight=0.5),
    "prune+value1": JudgeConfig(value_weight=1.0),
    "prune+prior1+value0.5": JudgeConfig(prior_weight=1.0, value_weight=0.5),
}


def load_judge(spec: str):
    if spec == "solver":
        from mcts.tasks.countdown_judge import SolverJudge

        return SolverJudge()
    from value.judge import load_judge as load

    return load(spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=40)
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--judge", default="solver")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--hard", action="store_true", help="hard dev puzzles (few first moves still reach 24)")
    args = parser.parse_args(argv)
    from teachers import load_teacher

    tasks = [CountdownTask(p) for p in dev_puzzles(args.puzzles, args.hard)]
    teachers = [load_teacher(s) for s in DEFAULT_TEACHERS]
    judge = load_judge(args.judge)
    rows = {}
    started = time.perf_counter()
    bon = [best_of_n(teachers[0], t, token_budget=args.budget, seed=DEV_SEED + 1000 * i) for i, t in enumerate(tasks)]
    rows["best_of_n[expert]"] = sum(r.solved for r in bon) / len(tasks)
    for name in args.settings:
        cfg = SearchConfig(budget=Budget(simulations=None, tokens=args.budget), seed=DEV_SEED)
        if SETTINGS[name] is not None:
            cfg = dataclasses.replace(cfg, judge=SETTINGS[name])
        searcher = Searcher(teachers, cfg, judge=judge if SETTINGS[name] is not None else None)
        t0 = time.perf_counter()
        results = searcher.search_many(tasks, concurrent=args.concurrent, seeds=lambda i: DEV_SEED + i)
        rows[name] = sum(r.solved for r in results) / len(tasks)
        print(f"{name:24s} {rows[name]:.3f}  tokens/puzzle {sum(r.generated_tokens for r in results) / len(tasks):.0f}"
              f"  {time.perf_counter() - t0:.0f} s", flush=True)
    print(json.dumps({"puzzles": len(tasks), "budget": args.budget, "judge": args.judge, "solve_rate": rows,
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
