"""Ray scale figures: the same tasks, teachers and seeds as a plain local run, then on 1 and 2 Ray workers.

    python benchmarks/ray_scale.py --tasks 32 --simulations 24 --json benchmarks/results/ray_scale.json

Starts a local Ray cluster (127.0.0.1, ``--cpus`` CPUs) and stops it. Per mode (plain, 1 and 2 Ray
workers): the start-up cost (the wall time of a 1-task run: models loaded, for Ray the actors too),
the wall time of the whole run, and the steady rate once started, ``(tasks - 1) / (wall - start-up)``;
the Ray overhead per task is the steady per-task time over the plain one. The prediction for N
workers scales the 1-worker steady rate by N while each worker and each in-process teacher actor
has a CPU of its own; past the cores, or when the shared teacher actors / vLLM servers saturate
(the measured 2-worker / 1-worker ratio shows it), it stops scaling.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

TEACHERS = ["hf:countdown-expert", "hf:countdown-noisy", "hf:countdown-format"]


def run(out: Path, tasks: int, simulations: int, extra: list[str]) -> float:
    from mcts.cli import main

    args = ["search", "--num-tasks", str(tasks), "--simulations", str(simulations), "--seed", "5",
            "--min-free-mb", "0", "--no-judge", "--out", str(out), *extra]
    for spec in TEACHERS:
        args += ["--teacher", spec]
    started = time.perf_counter()
    if main(args) != 0:
        raise SystemExit(f"run failed: {' '.join(args)}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--simulations", type=int, default=24)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import ray

    report: dict = {"tasks": args.tasks, "simulations": args.simulations, "cpus": args.cpus, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        modes = {"plain": []}
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        try:
            address = ray.get_runtime_context().gcs_address
            modes |= {f"ray x{w}": ["--ray", address, "--ray-workers", str(w)] for w in (1, 2)}
            for name, flags in modes.items():
                startup = run(root / f"{name}-start", 1, args.simulations, flags)
                wall = run(root / name, args.tasks, args.simulations, flags)
                steady = (args.tasks - 1) / max(1e-9, wall - startup)
                report["runs"][name] = {"wall_s": wall, "tasks_per_s": args.tasks / wall, "startup_s": startup,
                                        "steady_tasks_per_s": steady}
        finally:
            ray.shutdown()
    runs = report["runs"]
    plain_task, ray_task = 1 / runs["plain"]["steady_tasks_per_s"], 1 / runs["ray x1"]["steady_tasks_per_s"]
    report["ray_overhead_per_task_s"] = ray_task - plain_task
    report["two_worker_speedup"] = runs["ray x2"]["steady_tasks_per_s"] / runs["ray x1"]["steady_tasks_per_s"]
    report["predicted_tasks_per_s"] = {n: n / ray_task for n in (1, 2, 4, 8, 16)}
    print(f"{'run':10s} {'wall s':>8s} {'tasks/s':>8s} {'start-up s':>11s} {'steady tasks/s':>15s} {'vs plain':>9s}")
    for name, r in runs.items():
        print(f"{name:10s} {r['wall_s']:8.1f} {r['tasks_per_s']:8.2f} {r['startup_s']:11.1f} "
              f"{r['steady_tasks_per_s']:15.2f} {r['steady_tasks_per_s'] / runs['plain']['steady_tasks_per_s']:8.2f}x")
    print(f"Ray overhead per task once started: {report['ray_overhead_per_task_s']:+.3f} s "
          f"(plain {plain_task:.3f} s/task); 2 workers / 1 worker: {report['two_worker_speedup']:.2f}x")
    print("predicted tasks/s with N workers, each with CPUs of its own: "
          + ", ".join(f"{n}: {v:.1f}" for n, v in report["predicted_tasks_per_s"].items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
