"""Judge quality: how often the bundled judge ``countdown-judge`` gives the solver's verdict on held-out states.

States: for every puzzle (held-out Game-of-24 puzzles from ``generate_puzzles(..., split="heldout")`` by
default, or the puzzles of ``--data FILE.jsonl``) and every depth 1, 2, 3 (steps taken, the proposed one
last), ``--per-label`` states whose numbers left can still reach the target and as many that cannot,
made by ``teachers.training.judge_data.sample_state`` with this script's seed: steps written as the
teachers write them (``8-4=4 (left: 7 8 4)``), legal moves from random solutions and random walks, and
for about a third of the unreachable states a last step spoiled the way models get steps wrong (wrong
result, wrong ``(left: ...)`` list, an operand that is not there, a truncated division). The truth is the
exact solver's (``mcts.tasks.countdown_solver``): reachable means every step valid and the target still
reachable. These are the same kinds of states the judge was trained on, from puzzles it never saw.

Reported per depth and overall: balanced accuracy — the mean of the accept rate on reachable states and
the reject rate on unreachable ones, a neutral verdict (0) counting as wrong — the same on the states
whose steps are all valid (``balanced_accuracy_valid``: what the model itself decides when the judge's
state view leaves invalid steps to the task's checker), the confusion matrix
(truth reachable / unreachable x verdict accept / neutral / reject), the reject rate on invalid last
steps, and throughput: states judged per second, all states in one ``judge`` call (one forward pass per
``--batch-size`` states), after a warm-up call that loads the model. The baseline row is the old
behaviour: a bundled teacher (``--baseline``, default ``countdown-expert``) as an LMGT judge with the
default template and the " good" / " neutral" / " bad" answers.

    python benchmarks/judge_quality.py --json benchmarks/results/judge_quality.json
    python benchmarks/judge_quality.py --data puzzles.jsonl --baseline none

Wall-clock numbers vary with the machine's load; compare rows from one run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mcts.tasks.countdown import Puzzle, apply_steps, format_prompt, load_puzzles
from mcts.tasks.countdown_solver import generate_puzzles, is_solvable, puzzle_split
from mcts.types import ScoredText
from teachers.training.judge_data import JudgeExample, sample_state

DEPTHS = (1, 2, 3)
VERDICT_NAMES = {1: "accept", 0: "neutral", -1: "reject"}


def make_states(puzzles: list[Puzzle], per_label: int, seed: int) -> list[JudgeExample]:
    """Balanced states of every puzzle at depths 1..3 (fewer for puzzles of fewer numbers); seeded."""
    rng = random.Random(seed)
    states = []
    for puzzle in puzzles:
        for depth in DEPTHS:
            if depth >= len(puzzle.numbers):
                continue
            for want in (True, False):
                states.extend(sample_state(puzzle, depth, want, rng) for _ in range(per_label))
    return states


def scored(example: JudgeExample) -> ScoredText:
    return ScoredText(format_prompt(example.puzzle), example.steps, task_id=example.puzzle.id)


def judge_states(judge, states: list[JudgeExample]) -> tuple[list[int], float]:
    """Verdicts for every state (one ``judge`` call) and states per second."""
    judge.judge([ScoredText("Numbers: 1 2\nTarget: 3\n", ("1+2=3 (left: 3)\n",), task_id="warm-up")])
    start = time.perf_counter()
    verdicts = list(judge.judge([scored(s) for s in states]))
    return [int(v) for v in verdicts], len(states) / (time.perf_counter() - start)


def _confusion(rows: list[tuple[JudgeExample, int]]) -> tuple[dict, float]:
    """The confusion matrix of ``rows`` and its balanced accuracy (a neutral verdict counts as wrong)."""
    confusion = {truth: {name: 0 for name in VERDICT_NAMES.values()} for truth in ("reachable", "unreachable")}
    for state, verdict in rows:
        confusion["reachable" if state.reachable else "unreachable"][VERDICT_NAMES[verdict]] += 1
    rates = [
        confusion["reachable"]["accept"] / max(1, sum(confusion["reachable"].values())),
        confusion["unreachable"]["reject"] / max(1, sum(confusion["unreachable"].values())),
    ]
    return confusion, sum(rates) / 2


def quality(states: list[JudgeExample], verdicts: list[int]) -> dict:
    """Balanced accuracy per depth and overall (also on valid states alone: the model's part when a
    task checker rejects invalid steps), confusion matrices, reject rate on invalid last steps."""
    report: dict = {"balanced_accuracy": {}, "balanced_accuracy_valid": {}, "confusion": {}, "invalid_rejected": {}}
    for depth in (*DEPTHS, "all"):
        rows = [(s, v) for s, v in zip(states, verdicts) if depth == "all" or s.depth == depth]
        if not rows:
            continue
        invalid = [apply_steps(s.puzzle, s.steps).invalid for s, _ in rows]
        report["confusion"][str(depth)], report["balanced_accuracy"][str(depth)] = _confusion(rows)
        report["balanced_accuracy_valid"][str(depth)] = _confusion([r for r, bad in zip(rows, invalid) if not bad])[1]
        rejected = [v == -1 for (_, v), bad in zip(rows, invalid) if bad]
        report["invalid_rejected"][str(depth)] = sum(rejected) / len(rejected) if rejected else None
    return report


def load_benchmark_puzzles(args: argparse.Namespace, console: Console) -> list[Puzzle]:
    if args.data is None:
        return generate_puzzles(args.puzzles, args.seed, split="heldout")
    puzzles = [p for p in load_puzzles(args.data) if is_solvable(p.numbers, p.target)][: args.puzzles]
    seen = sum(puzzle_split(p.numbers, p.target) == "train" for p in puzzles)
    if seen:
        console.print(f"[yellow]note: {seen} of {len(puzzles)} puzzles in {args.data} are on the training side[/]")
    if not puzzles:
        raise SystemExit(f"--data {args.data}: no solvable puzzles")
    return puzzles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puzzles", type=int, default=100, help="puzzles (default 100)")
    parser.add_argument("--seed", type=int, default=2024, help="puzzle and state seed (default 2024)")
    parser.add_argument("--data", type=Path, help="countdown puzzle JSONL instead of held-out Game of 24")
    parser.add_argument("--per-label", type=int, default=2, help="reachable and unreachable states per puzzle and depth")
    parser.add_argument("--judge", default="countdown-judge", help="judge model: bundled name or directory")
    parser.add_argument("--baseline", default="countdown-expert", help="teacher as the old LMGT judge ('none': skip)")
    parser.add_argument("--batch-size", type=int, default=256, help="states per forward pass")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.puzzles < 1 or args.per_label < 1:
        parser.error("--puzzles and --per-label must be >= 1")
    import torch

    from value.judge import load_judge

    torch.set_num_threads(args.threads)
    console = Console()
    puzzles = load_benchmark_puzzles(args, console)
    states = make_states(puzzles, args.per_label, args.seed)
    source = str(args.data) if args.data else f"held-out Game of 24, seed {args.seed}"
    result: dict = {"puzzles": len(puzzles), "states": len(states), "source": source, "threads": args.threads}
    rows = {args.judge: args.judge}
    if args.baseline != "none":
        rows[f"{args.baseline} (LMGT, old)"] = args.baseline
    table = Table(title=f"Judge verdicts vs the solver: {len(states)} states of {len(puzzles)} puzzles ({source})")
    for column in ("judge", "bal. acc. 1", "bal. acc. 2", "bal. acc. 3", "all", "valid only 1", "invalid rejected",
                   "states/s"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    for label, name in rows.items():
        verdicts, speed = judge_states(load_judge(name, batch_size=args.batch_size), states)
        report = {**quality(states, verdicts), "states_per_s": speed}
        if name == args.judge:
            result.update(report)
        else:
            result["baseline"] = {"judge": name, **report}
        acc = report["balanced_accuracy"]
        table.add_row(label, *(f"{acc[d]:.1%}" if d in acc else "-" for d in ("1", "2", "3", "all")),
                      f"{report['balanced_accuracy_valid']['1']:.1%}" if "1" in acc else "-",
                      f"{report['invalid_rejected']['all']:.1%}", f"{speed:,.0f}")
    console.print(table)
    confusion = result["confusion"]["all"]
    matrix = Table(title=f"{args.judge}: confusion, all depths")
    for column in ("truth", *VERDICT_NAMES.values()):
        matrix.add_column(column, justify="left" if column == "truth" else "right")
    for truth, counts in confusion.items():
        matrix.add_row(truth, *(str(counts[v]) for v in VERDICT_NAMES.values()))
    console.print(matrix)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"judge": args.judge, **result}, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
