"""Search quality: MCTS vs sampling vs other tree searches, at matched generated-token budgets.

On seeded held-out Game-of-24 puzzles (target 24, four numbers in 1..13, generated, not picked; none
in the bundled models' training data) every method gets the same teachers, the same judge and the
same per-puzzle budget of generated tokens (counted exactly, the same way for all: generated tokens
only, every proposal asked for), and stops at its first verified answer (the verifier is an oracle
for all of them, so best-of-n is pass@n):

    greedy[T]               one greedy completion by teacher T
    best_of_n[T]            samples from T until one verifies or the budget is spent
    best_of_n_union         the same, round-robin over all teachers
    tot_bfs                 Tree of Thoughts BFS (Yao et al. 2023, arXiv 2305.10601): breadth 5,
                            states scored by the judge (mcts/baselines/tot.py)
    beam                    step-level beam search ranked by the judge (--beam-width, mcts/baselines/beam.py)
    ab_mcts_a, ab_mcts_m    Sakana's TreeQuest AB-MCTS-A / -M (Inoue et al. 2025, arXiv 2503.04412);
                            needs the `peers` extra; ab_mcts_m only when asked for (--methods)
    mcts_single[T]          MCTS with teacher T alone
    mcts_ensemble_uniform   MCTS with every teacher at static 1/N weights
    mcts_ensemble_global    MCTS with dynamic teacher weights, one set for every step (no contexts;
                            the search's defaults)
    mcts_ensemble_dynamic   MCTS with dynamic teacher weights per context (the step's depth), backing
                            off to the global ones while a context has little evidence, and rollouts
                            written a step at a time, each step by the teacher that leads its depth
                            (evaluation.rollout_teacher = "context")
    oracle_judge_mcts       the dynamic row with the exact solver as its judge: a ceiling, not a method

Teachers (--teacher-set): `ladder` (default: expert, noisy, format-only; one teacher is best
everywhere) or `complementary` (countdown-opener, right on the first step and careless on the last,
and countdown-closer, the other way round). A set with a known best teacher per context adds the
`oracle_mix` teacher to the per-teacher rows (greedy, best_of_n, mcts_single): every step written by
the teacher that is best at its depth (mcts/baselines/routed.py), a reference, not a method.

The judge (--judge): `countdown-judge` (the bundled judge, when it exists; otherwise a printed note
and no judge), `solver` (the exact solver, mcts/tasks/countdown_judge.py), `none`, or a model path.
Without a judge ToT ranks states in proposal order and beam search by likelihood.

"The best best-of-N row" (the reference of the ratios and floor checks) is best_of_n[T] for the
teacher T with the highest best-of-n solve rate on a separate dev set: held-out puzzles from another
seed, disjoint from the test puzzles (the train side if the held-out pool runs out, e.g. --hard),
never the test puzzles. `wall_s` is the wall time of the method over all puzzles at that budget,
judge included (batched methods run the puzzles together, MCTS --concurrent at a time).

Full run (the numbers in benchmarks/RESULTS.md; about 30-60 min on 2 CPU cores):

    python benchmarks/search_quality.py --puzzles 100 --budgets 100 200 400 800 1600 --threads 2 --html curves.html \\
        --json benchmarks/results/search_quality.json --plot benchmarks/results/search_quality.png

Hard puzzles (at most 3 winning first moves, see mcts.tasks.countdown_solver.is_hard): add --hard.
--repeats N runs every method N times on the same puzzles (sampling and search seeds --seed,
--seed + 1000, ...) and reports the means, each run's solve rate beside them (floors read the means).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console

from mcts import WeightsConfig
from mcts.baselines import beam_search, best_of_n_many, greedy, tot_bfs
from mcts.baselines.routed import RoutedTeacher
from mcts.baselines.treequest_peer import PeerUnavailable, ab_mcts, make_algorithm
from mcts.run.config import TEACHER_SETS
from mcts.search import Budget, EvaluationConfig, Searcher, SearchConfig
from mcts.tasks.countdown import load_puzzles
from mcts.tasks.countdown_judge import SolverJudge
from mcts.tasks.countdown_solver import HARD_MAX_WINNING_FIRST_MOVES, generate_puzzles
from mcts.tasks.searchable import CountdownTask

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_quality_report import ensemble_floor_checks, floor_checks, plot, print_table  # noqa: E402

DEFAULT_JUDGE = "countdown-judge"
PER_TEACHER = ("greedy", "best_of_n", "mcts_single")
SHARED = ("best_of_n_union", "tot_bfs", "beam", "ab_mcts_a", "ab_mcts_m",
          "mcts_ensemble_uniform", "mcts_ensemble_global", "mcts_ensemble_dynamic", "oracle_judge_mcts")
ORACLE_MIX = "oracle_mix"
# The per-context ensemble: weights keyed by the step's depth, rollouts written step by step by each
# depth's weights (chosen on dev puzzles, RESULTS "Complementary teachers").
PER_CONTEXT = WeightsConfig(context="depth")
# The teacher that is best at each depth, for the sets that have one: index into the set's teachers.
ORACLE_ROUTES = {"complementary": lambda depth: 0 if depth == 0 else 1}
ASK_ONLY = ("ab_mcts_m",)  # run only when --methods names them


def method_names(requested: list[str] | None, teacher_names: list[str]) -> list[str]:
    """The rows to run, in table order; a family name (``best_of_n``) means every teacher's row."""
    every = [f"{f}[{t}]" for f in PER_TEACHER[:2] for t in teacher_names] + list(SHARED[:5])
    every += [f"mcts_single[{t}]" for t in teacher_names] + list(SHARED[5:])
    if not requested:
        return [m for m in every if m not in ASK_ONLY]
    chosen = set()
    for name in requested:
        matches = [m for m in every if m == name or m.split("[")[0] == name]
        if not matches:
            raise SystemExit(f"unknown method {name!r}; choose from {PER_TEACHER + SHARED} or {every}")
        chosen.update(matches)
    return [m for m in every if m in chosen]


def load_judge(spec: str, console: Console):
    """The ``Judge`` that ``--judge`` names (see the module docstring)."""
    if spec == "none":
        return None
    if spec == "solver":
        return SolverJudge()
    from teachers import resolve_model_path

    path = resolve_model_path(spec)
    if not Path(path).is_dir():
        if spec == DEFAULT_JUDGE:
            console.print(f"note: the bundled judge {spec!r} is not there yet; running without a judge (--judge none)")
            return None
        raise SystemExit(f"--judge {spec!r}: no such model directory or bundled model (or use solver / none)")
    try:
        from value.judge import load_judge as load_bundled_judge
    except ImportError:
        from value import LMGTJudge

        console.print(f"note: value.judge.load_judge is missing; loading {spec!r} as an LMGT judge")
        return LMGTJudge(path)
    return load_bundled_judge(spec)


def puzzle_key(p) -> tuple:
    return tuple(sorted(p.numbers)), p.target


def dev_puzzles(n: int, seed: int, hard: bool, test: list, console: Console) -> tuple[list, str]:
    """``n`` puzzles for choosing the best teacher: another seed, none of the test puzzles."""
    taken = {puzzle_key(p) for p in test}
    for split in ("heldout", "train"):
        try:
            pool = generate_puzzles(n + len(test), seed=seed, split=split, hard=hard)
        except ValueError:
            continue
        chosen = [p for p in pool if puzzle_key(p) not in taken][:n]
        if len(chosen) == n:
            return chosen, split
    raise SystemExit(f"cannot draw {n} dev puzzles disjoint from the test puzzles; lower --dev-puzzles")


def summarise(rows: list[dict], wall: float) -> dict:
    n = len(rows)
    mean = {k: sum(r[k] for r in rows) / n for k in ("tokens", "calls", "judge_calls", "judge_tokens")}
    return {"solve_rate": sum(r["solved"] for r in rows) / n, **mean, "wall_s": round(wall, 2)}


def averaged(points: list[dict]) -> dict:
    """One curve point from the same method, budget and puzzles run under several seeds: every field
    averaged (wall time too: one run's), and with more than one, each seed's solve rate."""
    point = {k: sum(p[k] for p in points) / len(points) for k in points[0]}
    point["wall_s"] = round(point["wall_s"], 2)
    if len(points) > 1:
        point["solve_rates"] = [p["solve_rate"] for p in points]
    return point


def baseline_rows(results) -> list[dict]:
    return [{"solved": r.solved, "tokens": r.tokens, "calls": r.calls, "judge_calls": r.judge_calls,
             "judge_tokens": r.judge_tokens} for r in results]


def search_rows(results) -> list[dict]:
    return [{"solved": r.solved, "tokens": r.generated_tokens, "calls": sum(r.calls_per_teacher.values()),
             "judge_calls": r.judge_calls, "judge_tokens": r.judge_tokens} for r in results]


class Methods:
    """Runs one named method on the tasks at one budget; returns per-task rows."""

    def __init__(self, teachers, judge, args, oracle: RoutedTeacher | None = None) -> None:
        self.teachers, self.judge, self.args = teachers, judge, args
        self.by_name = {t.name: t for t in teachers}
        if oracle is not None:
            self.by_name[oracle.name] = oracle
        self.final_weights: dict[str, dict] = {}  # method -> {context: {teacher: probability}} after its last run

    def run(self, method: str, tasks, budget: int, seed: int) -> list[dict]:
        family, _, rest = method.partition("[")
        teacher = self.by_name.get(rest.rstrip("]"))
        judge, everyone = self.judge, self.teachers
        if family == "greedy":
            return baseline_rows(greedy(teacher, tasks, max_tokens=min(96, budget)))
        if family == "best_of_n":
            return baseline_rows(best_of_n_many([teacher], tasks, token_budget=budget, seed=seed))
        if family == "best_of_n_union":
            return baseline_rows(best_of_n_many(everyone, tasks, token_budget=budget, seed=seed))
        if family == "tot_bfs":
            return baseline_rows(tot_bfs(everyone, tasks, token_budget=budget, judge=judge, breadth=self.args.tot_breadth, seed=seed))
        if family == "beam":
            return baseline_rows(beam_search(everyone, tasks, token_budget=budget, judge=judge, width=self.args.beam_width, seed=seed))
        if family in ("ab_mcts_a", "ab_mcts_m"):
            return baseline_rows(ab_mcts(everyone, tasks, token_budget=budget, judge=judge, variant=family[-1], seed=seed))
        if family == "mcts_single":
            return self.mcts(method, [teacher], tasks, budget, seed, weights=WeightsConfig(), judge=judge)
        if family == "oracle_judge_mcts":
            return self.mcts(method, everyone, tasks, budget, seed, weights=PER_CONTEXT, judge=SolverJudge(), rollout="context")
        if family == "mcts_ensemble_dynamic":
            return self.mcts(method, everyone, tasks, budget, seed, weights=PER_CONTEXT, judge=judge, rollout="context")
        weights = WeightsConfig(dynamic=family != "mcts_ensemble_uniform")
        return self.mcts(method, everyone, tasks, budget, seed, weights=weights, judge=judge)

    def mcts(self, method: str, teachers, tasks, budget: int, seed: int, *, weights: WeightsConfig, judge,
             rollout: str = "proposer") -> list[dict]:
        config = SearchConfig(budget=Budget(simulations=None, tokens=budget), weights=weights, seed=seed,
                              evaluation=EvaluationConfig(rollout_teacher=rollout))
        searcher = Searcher(teachers, config, judge=judge)
        rows = search_rows(searcher.search_many(tasks, concurrent=self.args.concurrent, seeds=lambda i: seed + i))
        self.final_weights[method] = weight_table(searcher.weights)
        return rows


def weight_table(weights, contexts: int = 4) -> dict[str, dict[str, float]]:
    """``{"global" | depth: {teacher: probability}}`` of learned weights (depth contexts 0..contexts-1)."""
    rows = {"global": weights.probabilities()}
    if weights.num_contexts:
        rows.update({str(c): weights.probabilities(c) for c in range(min(contexts, weights.max_contexts))})
    return {key: {name: round(float(p), 4) for name, p in zip(weights.names, probs)} for key, probs in rows.items()}


def skip_unavailable(methods: list[str], console: Console) -> list[str]:
    """Drop the AB-MCTS rows whose packages are missing, with one line each."""
    kept = []
    for m in methods:
        if m.startswith("ab_mcts_"):
            try:
                make_algorithm(m[-1])
            except PeerUnavailable as exc:
                console.print(f"skip {m}: {exc}")
                continue
        kept.append(m)
    return kept


def choose_best_teacher(teachers, args, test_puzzles, console: Console) -> tuple[str, dict]:
    puzzles, split = dev_puzzles(args.dev_puzzles, args.seed + 1, args.hard, test_puzzles, console)
    tasks = [CountdownTask(p) for p in puzzles]
    rates = {t.name: summarise(baseline_rows(best_of_n_many([t], tasks, token_budget=args.dev_budget, seed=args.seed + 1)), 0)["solve_rate"]
             for t in teachers}
    best = max(rates, key=lambda name: rates[name])  # first of equals: the order given
    console.print(f"best teacher chosen on a separate dev set ({len(tasks)} {split}-side puzzles, seed {args.seed + 1}, "
                  f"disjoint from the test puzzles; best-of-n at {args.dev_budget} tokens): {best}  {rates}")
    return best, {"puzzles": len(tasks), "split": split, "seed": args.seed + 1, "budget": args.dev_budget, "best_of_n": rates}


def repeat_seeds(args) -> list[int]:
    """The sampling and search seeds of the repeats: --seed, then --seed + 1000, + 2000, ..."""
    return [args.seed + 1000 * r for r in range(args.repeats)]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--data", help="countdown puzzles JSONL instead of generated ones")
    parser.add_argument("--hard", action="store_true",
                        help=f"hard puzzles: at most {HARD_MAX_WINNING_FIRST_MOVES} distinct first moves keep the target reachable")
    parser.add_argument("--teacher", dest="teachers", action="append", help="teacher spec (repeatable; replaces --teacher-set)")
    parser.add_argument("--teacher-set", choices=sorted(TEACHER_SETS), default="ladder",
                        help="bundled teachers: ladder (expert, noisy, format-only) or complementary (opener, closer)")
    parser.add_argument("--judge", default=DEFAULT_JUDGE, help="countdown-judge | solver | none | a model path")
    parser.add_argument("--methods", nargs="+", help="a subset: method names or families (best_of_n = every teacher's row)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200, 400, 800, 1600], help="per-puzzle token budgets")
    parser.add_argument("--dev-puzzles", type=int, default=30, help="dev puzzles that choose the best teacher")
    parser.add_argument("--dev-budget", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=1,
                        help="run every method this many times on the same puzzles, other sampling and search seeds, "
                             "and report the mean (with each run's solve rate): on 100 puzzles one run's rate "
                             "moves by about 3 points at 90 %% from the seed alone")
    parser.add_argument("--concurrent", type=int, default=32, help="MCTS searches at once (teacher calls coalesced)")
    parser.add_argument("--tot-breadth", type=int, default=5)
    parser.add_argument("--beam-width", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", type=Path, help="write the curves here")
    parser.add_argument("--plot", type=Path, help="write a solve-rate-vs-tokens PNG here")
    parser.add_argument("--html", type=Path, help="write the curves as one self-contained HTML page here")
    args = parser.parse_args(argv)
    bad = [b for b in args.budgets if b < 1]
    if bad or args.puzzles < 1 or args.dev_puzzles < 1 or args.repeats < 1:
        parser.error(f"budgets, --puzzles, --dev-puzzles and --repeats must be positive (budgets {args.budgets}, "
                     f"puzzles {args.puzzles}, dev puzzles {args.dev_puzzles}, repeats {args.repeats})")
    if args.data and args.hard:
        parser.error("--hard draws generated puzzles; it cannot be combined with --data")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    console = Console(width=200, markup=False, highlight=False)
    import torch

    torch.set_num_threads(args.threads)
    from teachers import load_teacher

    # Held-out side of the split: the bundled models never trained on these number sets.
    puzzles = load_puzzles(args.data) if args.data else generate_puzzles(args.puzzles, seed=args.seed, split="heldout", hard=args.hard)
    tasks = [CountdownTask(p) for p in puzzles]
    teachers = [load_teacher(spec) for spec in (args.teachers or TEACHER_SETS[args.teacher_set])]
    route = None if args.teachers else ORACLE_ROUTES.get(args.teacher_set)
    oracle = RoutedTeacher(teachers, route, name=ORACLE_MIX) if route else None
    judge = load_judge(args.judge, console)
    started = time.perf_counter()
    try:
        names = [t.name for t in teachers]
        methods = skip_unavailable(method_names(args.methods, names + [ORACLE_MIX] * bool(oracle)), console)
        best, dev = choose_best_teacher(teachers, args, puzzles, console)
        runner = Methods(teachers, judge, args, oracle)
        curves: dict[str, list[dict]] = {m: [] for m in methods}
        for budget in args.budgets:
            for method in methods:
                points = []
                for seed in repeat_seeds(args):
                    t0 = time.perf_counter()
                    rows = runner.run(method, tasks, budget, seed)
                    points.append(summarise(rows, time.perf_counter() - t0))
                curves[method].append({"budget": budget, **averaged(points)})
            print_table(console, curves, budget, len(tasks), f"best_of_n[{best}]")
    finally:
        for t in teachers:
            t.close()
    floors = floor_checks(curves, f"best_of_n[{best}]", args.budgets)
    teacher_set = "custom" if args.teachers else args.teacher_set
    ensemble = ensemble_floor_checks(curves, teacher_set, names, runner.final_weights.get("mcts_ensemble_dynamic"),
                                     route, ORACLE_MIX)
    for line in floors["lines"] + ensemble["lines"]:
        console.print(line)
    for method, table in runner.final_weights.items():
        console.print(f"final weights of {method} (last budget): {table}")
    seconds = round(time.perf_counter() - started, 1)
    console.print(f"{len(tasks)} puzzles, judge {args.judge!r}, {seconds} s")
    if args.json:
        report = {"puzzles": len(tasks), "repeats": args.repeats, "curves": curves, "budgets": args.budgets, "best_teacher": best, "dev": dev,
                  "judge": args.judge if judge is not None or args.judge == "none" else "none (fallback)",
                  "hard": args.hard, "teacher_set": teacher_set, "teachers": names, "floors": floors["results"],
                  "ensemble_floors": ensemble["results"], "final_weights": runner.final_weights, "seconds": seconds}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.plot:
        plot(curves, args.plot)
    if args.html:
        from mcts.report import curves_html

        curves_html(curves, args.html, title=f"search quality: {len(tasks)} puzzles, judge {args.judge}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
