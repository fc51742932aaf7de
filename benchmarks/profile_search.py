"""Where the time of a default ``mcts-llm search`` goes, by stage (cProfile, self time grouped by file).

    python benchmarks/profile_search.py --num-tasks 16

Teachers generate in worker threads, so the main thread's time waiting for them is the
generation's share; groups: teacher generation (teachers/, transformers, torch), task scoring (mcts/tasks/, value/),
judge (value/judge.py, mcts/tasks/countdown_judge.py), native tree (mcts/tree.py, mcts/weights.py,
the _core extension), search glue (mcts/search/), run I/O (mcts/run/), other (asyncio, numpy,
threads waiting, the interpreter). Prints each group's share of the profiled wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time

GROUPS = (
    # Teachers (and the judge) generate in worker threads: the event loop waits for them here.
    ("waiting on worker threads (generation)", ("method 'acquire'", "method 'select'", "method 'poll'", "method 'control'")),
    ("judge", ("value/judge.py", "countdown_judge.py")),
    ("teacher generation", ("/teachers/", "transformers/", "torch/", "tokenizers/")),
    ("task scoring", ("/mcts/tasks/", "/value/")),
    ("native tree", ("/mcts/tree.py", "/mcts/weights.py", "_core", "/mcts/node_notes.py")),
    ("search glue", ("/mcts/search/",)),
    ("run I/O", ("/mcts/run/", "/mcts/tree_io.py", "rich/")),
)


def group_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for name, needles in GROUPS:
        if any(n in where for n in needles):
            return name
    return "other"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-tasks", type=int, default=16)
    args = parser.parse_args(argv)
    from mcts.cli import main as cli

    out = tempfile.mkdtemp(prefix="profile-run-")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    cli(["search", "--num-tasks", str(args.num_tasks), "--out", out])
    profiler.disable()
    wall = time.perf_counter() - started
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, self_time, _, _) in pstats.Stats(profiler).stats.items():
        group = group_of(filename, function)
        totals[group] = totals.get(group, 0.0) + self_time
    print(f"\n{'stage':22s} {'seconds':>8s} {'share':>7s}   (main thread self time; wall {wall:.1f} s)")
    for group, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{group:22s} {seconds:8.2f} {seconds / wall:7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
