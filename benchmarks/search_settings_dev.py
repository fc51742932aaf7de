"""Choose search settings on a dev set (never on the benchmark's puzzles).

Held-out-side countdown puzzles from a seed the benchmarks do not use (777) with targets 20..30 other
than 24 (so none is a puzzle the benchmarks report; ``--hard``: hard ones), equal generated-token
budget per puzzle; compares best-of-n of the expert with MCTS over the bundled teachers under a few
settings. ``--judge solver`` puts the exact solver in the judge's seat (the ceiling);
``--judge NAME`` a bundled or local judge model.

    python benchmarks/search_settings_dev.py --puzzles 200 --settings default "no retries" --teachers expert
    python benchmarks/search_settings_dev.py --game24 --puzzles 100 --budgets 200 400 --teachers complementary \
        --no-best-of-n --settings uniform default "depth contexts, context rollouts"

``--game24``: held-out Game-of-24 puzzles that ``search_quality.py`` does not report instead (the
complementary pair is weak on other targets, so that set tells its settings apart poorly).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable

from mcts.baselines import best_of_n
from mcts.run.config import DEFAULT_TEACHERS, TEACHER_SETS as BUNDLED_SETS
from mcts.search import Budget, Searcher, SearchConfig
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


def game24_dev_puzzles(n: int) -> list[Puzzle]:
    """``n`` held-out Game-of-24 puzzles (seed DEV_SEED) that are not among the 100 that
    ``search_quality.py`` reports (seed 2024): there are 240 solvable held-out sets in all."""
    reported = {tuple(sorted(p.numbers)) for p in generate_puzzles(100, seed=2024, split="heldout")}
    pool = generate_puzzles(240, seed=DEV_SEED, target=24, split="heldout")
    chosen = [p for p in pool if tuple(sorted(p.numbers)) not in reported][:n]
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} Game-of-24 dev puzzles; lower --puzzles")
    return chosen


def changed(section: str, **changes) -> Callable[[SearchConfig], SearchConfig]:
    """A setting: the default config with ``changes`` made to its ``section`` table."""
    return lambda cfg: dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **changes)})


# name -> how it changes the default SearchConfig (None: no judge at all)
SETTINGS: dict[str, Callable[[SearchConfig], SearchConfig] | None] = {
    "default": lambda cfg: cfg,
    "no judge": None,
    "prune only": changed("judge", prior_weight=0.0, value_weight=0.0),
    "prune+prior1": changed("judge", value_weight=0.0),
    "prune+value0.5": changed("judge", prior_weight=0.0),
    "prune+value1": changed("judge", prior_weight=0.0, value_weight=1.0),
    "no step credit": changed("judge", credit=False),
    "no retries": changed("expansion", retries=0),
    "retries, no heat": changed("expansion", retry_heat=0.0),
    "retry heat 0.5": changed("expansion", retry_heat=0.5),
    "max weight 0.9": changed("weights", max_weight=0.9),
    "ema rate 0.005": changed("weights", ema_rate=0.005),
    "max weight 0.9, ema rate 0.005": changed("weights", max_weight=0.9, ema_rate=0.005),
    "c_explore 2.5": changed("selection", c_explore=2.5),
    "widen_c 3": changed("selection", widen_c=3.0),
    "depth contexts": changed("weights", context="depth"),
    "context rollouts": changed("evaluation", rollout_teacher="context"),
    "depth contexts, context rollouts": lambda cfg: changed("evaluation", rollout_teacher="context")(changed("weights", context="depth")(cfg)),
    "no warm-up": changed("weights", warmup=False),
    "depth contexts, no warm-up": changed("weights", context="depth", warmup=False),
    "depth contexts, context rollouts, no warm-up":
        lambda cfg: changed("evaluation", rollout_teacher="context")(changed("weights", context="depth", warmup=False)(cfg)),
    "uniform": changed("weights", dynamic=False),
}
TEACHER_SETS = {"ensemble": DEFAULT_TEACHERS, "expert": DEFAULT_TEACHERS[:1], "complementary": BUNDLED_SETS["complementary"]}


def load_judge(spec: str):
    if spec == "solver":
        from mcts.tasks.countdown_judge import SolverJudge

        return SolverJudge()
    from value.judge import load_judge as load

    return load(spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=80)
    parser.add_argument("--budgets", type=int, nargs="+", default=[200, 400, 800, 1600])
    parser.add_argument("--judge", default="countdown-judge", help="countdown-judge | solver | a judge model path")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["default"])
    parser.add_argument("--teachers", choices=list(TEACHER_SETS), default="ensemble")
    parser.add_argument("--concurrent", type=int, default=32)
    parser.add_argument("--hard", action="store_true", help="hard dev puzzles (few first moves still reach the target)")
    parser.add_argument("--game24", action="store_true",
                        help="held-out Game-of-24 dev puzzles that search_quality.py does not report (at most 140)")
    parser.add_argument("--no-best-of-n", action="store_true", help="skip the best-of-n row")
    parser.add_argument("--seeds", type=int, default=1,
                        help="average every row over this many search seeds (DEV_SEED, DEV_SEED + 1, ...): "
                             "80 puzzles leave about 5 points of seed noise at 50 %%")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from teachers import load_teacher

    if args.game24 and args.hard:
        parser.error("--game24 and --hard are separate dev sets; choose one")
    tasks = [CountdownTask(p) for p in (game24_dev_puzzles(args.puzzles) if args.game24 else dev_puzzles(args.puzzles, args.hard))]
    teachers = [load_teacher(s) for s in TEACHER_SETS[args.teachers]]
    judge = load_judge(args.judge)
    rows: dict[str, dict[int, float]] = {}
    started = time.perf_counter()
    print(f"{len(tasks)} dev puzzles, teachers {args.teachers}, judge {args.judge}; solve rate per budget "
          "(and unsolved searches that stalled)", flush=True)
    seeds = [DEV_SEED + k for k in range(args.seeds)]
    runs = len(tasks) * len(seeds)
    if not args.no_best_of_n:
        rows["best_of_n[expert]"] = {
            b: sum(best_of_n(teachers[0], t, token_budget=b, seed=seed + 1000 * i).solved
                   for seed in seeds for i, t in enumerate(tasks)) / runs
            for b in args.budgets
        }
        print(f"{'best_of_n[' + teachers[0].name + ']':24s} " + "  ".join(f"{v:.3f}" for v in rows["best_of_n[expert]"].values()), flush=True)
    for name in args.settings:
        change, cells = SETTINGS[name], []
        rows[name] = {}
        for budget in args.budgets:
            solved = stalled = 0
            for seed in seeds:
                cfg = SearchConfig(budget=Budget(simulations=None, tokens=budget), seed=seed)
                searcher = Searcher(teachers, change(cfg) if change else cfg, judge=judge if change else None)
                results = searcher.search_many(tasks, concurrent=args.concurrent, seeds=lambda i, seed=seed: seed + i)
                solved += sum(r.solved for r in results)
                stalled += sum(r.stop_reason == "stalled" for r in results if not r.solved)
            rows[name][budget] = solved / runs
            cells.append(f"{rows[name][budget]:.3f} ({stalled})")
        print(f"{name:32s} " + "  ".join(cells), flush=True)
    print(json.dumps({"puzzles": len(tasks), "seeds": seeds, "teachers": args.teachers, "judge": args.judge, "solve_rate": rows,
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
