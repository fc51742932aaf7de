"""Concurrent tasks: the same run searched one task at a time and N at a time, side by side.

Each setting searches the same seeded Game-of-24 puzzles with the same teachers and budget
(``mcts.run.runner.run_search`` with ``concurrent_tasks`` = 1, then each N of ``--concurrent``), and
reports wall time, tasks per second, the speed-up over one at a time, teacher calls (batched calls
the backends received) and the solve rate, so it is visible that batching buys speed without
changing what the search finds (the rate moves a little: the weights each task sees differ).

    python benchmarks/concurrent_search.py --json concurrent_search.json
    python benchmarks/concurrent_search.py --tasks 32 --concurrent 8       # quicker

Teachers default to the bundled expert, noisy and policy models on the HF backend; torch runs one
intra-op thread per teacher (they generate at the same time, each in a worker thread). Wall-clock
numbers vary with the machine's load: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from mcts.run.config import RunConfig
from mcts.run.runner import run_search
from mcts.run.setup import build_teachers
from mcts.search import Budget, SearchConfig
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask

TEACHERS = ("hf:countdown-expert,name=expert", "hf:countdown-noisy,name=noisy", "hf:countdown-policy,name=policy")


class CallCounter:
    """Counts the calls a teacher receives (each one batch), passing them through."""

    def __init__(self, teacher):
        self.teacher, self.name, self.calls = teacher, teacher.name, 0

    def generate(self, requests):
        self.calls += 1
        return self.teacher.generate(requests)

    async def agenerate(self, requests):
        self.calls += 1
        return await self.teacher.agenerate(requests)

    def close(self):
        self.teacher.close()


def measure(args, concurrent: int, models: list, out: Path) -> dict:
    config = RunConfig(
        out=str(out), teachers=args.teachers, seed=args.seed, min_free_mb=0, concurrent_tasks=concurrent,
        search=SearchConfig(budget=Budget(simulations=args.simulations), stop_on_solve=False, seed=args.seed),
    )
    tasks = [CountdownTask(p) for p in generate_puzzles(args.tasks, seed=args.seed, split="train")]
    counters = [CallCounter(m) for m in models]
    start = time.perf_counter()
    totals = run_search(config, tasks, counters, console=Console(quiet=True))
    wall = time.perf_counter() - start
    return {
        "concurrent_tasks": concurrent, "wall_s": round(wall, 2), "tasks_per_s": round(totals.tasks / wall, 3),
        "teacher_calls": sum(c.calls for c in counters), "solve_rate": totals.solved / max(1, totals.tasks),
        "tokens": totals.tokens,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=64, help="puzzles searched per setting")
    parser.add_argument("--concurrent", type=int, nargs="+", default=[8, 32], help="settings besides 1")
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--teacher", dest="teachers", action="append", metavar="SPEC",
                        help=f"repeatable (default: {', '.join(TEACHERS)})")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.teachers = tuple(args.teachers or TEACHERS)
    torch.set_num_threads(args.threads)
    console = Console()
    config = RunConfig(teachers=args.teachers, min_free_mb=0)
    models = build_teachers(config)
    scratch = Path(tempfile.mkdtemp(prefix="concurrent-search-"))
    rows = []
    try:
        for concurrent in [1, *args.concurrent]:
            rows.append(measure(args, concurrent, models, scratch / f"c{concurrent}"))
            console.print(rows[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for m in models:
            m.close()
    base = rows[0]["wall_s"]
    table = Table(title=f"{args.tasks} puzzles x {args.simulations} simulations, teachers {', '.join(args.teachers)}")
    for col in ("concurrent tasks", "wall s", "tasks/s", "speed-up", "teacher calls", "solve rate", "tokens"):
        table.add_column(col, justify="right")
    for r in rows:
        r["speedup"] = round(base / r["wall_s"], 2)
        table.add_row(str(r["concurrent_tasks"]), f"{r['wall_s']:.1f}", f"{r['tasks_per_s']:.2f}", f"{r['speedup']:.2f}x",
                      str(r["teacher_calls"]), f"{r['solve_rate']:.2f}", str(r["tokens"]))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "config": {k: (str(v) if isinstance(v, Path) else v)
                                                                   for k, v in vars(args).items()}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
