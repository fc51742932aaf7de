"""`mcts-llm search --ray`: a local Ray cluster (127.0.0.1, 2 CPUs) that this module starts and stops,
the bundled teachers as Ray actors (countdown-expert in two replicas), the real CLI and run directory."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

# Ray binds its cluster to the loopback address only with this (read when ray is first imported).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "mcts-llm[ray]")')

from mcts.cli import main  # noqa: E402
from mcts.tree_io import load_tree  # noqa: E402

pytestmark = pytest.mark.slow

TEACHERS = ["hf:countdown-expert", "hf:countdown-expert", "hf:countdown-noisy", "hf:countdown-format"]


def search_args(num_tasks: int) -> list[str]:
    args = ["search", "--num-tasks", str(num_tasks), "--simulations", "24", "--seed", "5", "--min-free-mb", "0"]
    for spec in TEACHERS:
        args += ["--teacher", spec]
    return args


@pytest.fixture(scope="module")
def cluster() -> str:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_complete(out: Path, num_tasks: int) -> list[dict]:
    """Every task finished exactly once, with all its paths, its tree and one weights row, in task order."""
    ledger = rows(out / "tasks.jsonl")
    ids = [r["task_id"] for r in ledger]
    assert len(ids) == num_tasks and len(set(ids)) == num_tasks
    paths = Counter(r["task_id"] for r in rows(out / "trajectories.jsonl"))
    assert paths == {r["task_id"]: r["trajectories"] for r in ledger}
    assert all(r["trajectories"] > 0 for r in ledger)
    assert all((out / "trees" / f"{i}.tree").exists() for i in ids)
    with open(out / "weights.csv", newline="") as f:
        weights_rows = list(csv.reader(f))[1:]
    assert [int(r[0]) for r in weights_rows] == list(range(num_tasks))
    assert sorted(r[1] for r in weights_rows) == sorted(ids)
    return ledger


def final_scores(out: Path, ledger: list[dict]) -> np.ndarray:
    """The teachers' EMA scores after the last task: they order the teachers even where the
    probabilities tie (two weak teachers both held at the floor)."""
    _, weights = load_tree(out / "trees" / f"{ledger[-1]['task_id']}.tree")
    assert list(weights.names) == ["countdown-expert", "countdown-noisy", "countdown-format"]
    return weights.scores()


def without_timings(ledger: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in ledger]


def without_judge_cost(ledger: list[dict]) -> list[dict]:
    """The ledger without the judge's model cost: the judge reads states as the numbers left, which
    repeat across puzzles, so a worker that was restarted (a cold cache) feeds it again what the plain
    run had cached; the verdicts, and so everything else, are the same."""
    return [{k: v for k, v in r.items() if k not in ("judge_calls", "judge_tokens")} for r in ledger]


def run_one_worker_killed_once(out: Path, args: list[str], after_tasks: int) -> bool:
    """A one-worker Ray run of the CLI's ``args`` whose worker process is SIGKILLed once ``after_tasks``
    tasks are written; True when it was killed and Ray put a new process in its place."""
    from rich.console import Console

    from mcts.cli import build_parser
    from mcts.commands.search import overrides_from
    from mcts.run.config import load_run_config
    from mcts.run.ray_backend import RayBackend
    from mcts.run.runner import run_search
    from mcts.run.setup import build_tasks

    config = load_run_config(None, {**overrides_from(build_parser().parse_args(args)), "out": str(out)})
    backend = RayBackend(config, "auto", 1)
    first = backend.worker_pids[0]

    def kill_when_written() -> None:
        while not ((out / "tasks.jsonl").exists() and (out / "tasks.jsonl").read_text().count("\n") >= after_tasks):
            time.sleep(0.05)
        os.kill(first, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_written, daemon=True)
    killer.start()
    try:
        tasks = build_tasks(config)
        totals = run_search(config, tasks, [], backend=backend, console=Console(file=io.StringIO()))
        assert totals.stopped is None and totals.tasks == len(tasks)
        killer.join(timeout=1)
        return not killer.is_alive() and ray.get(backend.workers[0].ready.remote()) != first
    finally:
        backend.close()


def test_one_worker_is_the_plain_run_and_two_keep_the_weights_order(tmp_path, cluster):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the Ray actors: the same float sums, so the same priors
    try:
        assert main([*search_args(16), "--out", str(tmp_path / "plain")]) == 0
    finally:
        torch.set_num_threads(threads)
    killed = run_one_worker_killed_once(tmp_path / "ray1", search_args(16), after_tasks=3)
    assert main([*search_args(16), "--out", str(tmp_path / "ray2"), "--ray", cluster, "--ray-workers", "2"]) == 0

    plain = check_complete(tmp_path / "plain", 16)
    one = check_complete(tmp_path / "ray1", 16)
    two = check_complete(tmp_path / "ray2", 16)
    # One worker: each task starts from the latest weights, as in the plain run, so everything matches,
    # though its process was killed mid-run (Ray restarted it and searched that task again).
    assert killed
    for name in ("trajectories.jsonl", "weights.csv"):
        assert (tmp_path / "ray1" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    assert without_judge_cost(without_timings(one)) == without_judge_cost(without_timings(plain))
    # Two workers: each task misses the credits of the one beside it; the teachers still end in the same order.
    p_plain, p_two = final_scores(tmp_path / "plain", plain), final_scores(tmp_path / "ray2", two)
    # The plain run orders the expert above the others (with warm-up the weak two can both end at 0,
    # credited with nothing but failures: a tie, which no order can invert).
    assert len(set(p_plain)) >= 2 and np.argmax(p_plain) == 0, (p_plain, p_two)
    # The same order: no pair the plain run orders is inverted.
    for i in range(3):
        for j in range(3):
            if p_plain[i] > p_plain[j]:
                assert p_two[i] >= p_two[j] - 1e-9, (p_plain, p_two)
    assert np.argmax(p_two) == np.argmax(p_plain), (p_plain, p_two)
    assert not np.allclose(p_two, p_plain)  # the merge really ran, not one worker's chain


def test_killed_ray_run_resumes_without_ray_and_nothing_is_written_twice(tmp_path, cluster):
    out = tmp_path / "run"
    log = tmp_path / "driver.log"
    command = [sys.executable, "-m", "mcts.cli", *search_args(8), "--out", str(out), "--ray", cluster, "--ray-workers", "2"]
    with open(log, "w") as stderr:
        driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 300
        while driver.poll() is None and time.monotonic() < deadline:
            ledger = out / "tasks.jsonl"
            if ledger.exists() and ledger.read_text().count("\n") >= 2:
                break
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    finished = len(rows(out / "tasks.jsonl")) if (out / "tasks.jsonl").exists() else 0
    assert 2 <= finished < 8, f"the Ray run should be cut mid-way, it finished {finished} tasks:\n{log.read_text()[-3000:]}"

    assert main([*search_args(8), "--out", str(out), "--resume"]) == 0
    ledger = check_complete(out, 8)
    assert [r["task_id"] for r in ledger][:finished] == [f"cd-5-{i:05d}" for i in range(finished)]

    # A finished run resumed on Ray searches nothing and writes no row again.
    before = {name: (out / name).read_bytes() for name in ("tasks.jsonl", "trajectories.jsonl", "weights.csv")}
    assert main([*search_args(8), "--out", str(out), "--resume", "--ray", "auto"]) == 0
    assert {name: (out / name).read_bytes() for name in before} == before


def test_more_workers_than_cluster_cpus_is_a_clear_error(tmp_path, cluster, capsys):
    assert main([*search_args(2), "--out", str(tmp_path / "run"), "--ray", "auto", "--ray-workers", "3"]) == 2
    err = capsys.readouterr().err
    assert "--ray-workers 3" in err and "2 CPU" in err
