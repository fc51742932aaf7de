"""Fault injection: real faults against real ``mcts-llm search`` runs, and what each one cost.

Every scenario runs the CLI in a subprocess on the bundled ``countdown-expert`` teacher (or a real
vLLM server serving it), injects one fault for real, recovers the way a user would (``--resume``
after the cause is gone), then reads the run directory:

    finished     tasks in the ledger (tasks.jsonl) at the end; every scenario must reach all of them
    lost         trajectory rows missing for a finished task (must be 0)
    duplicated   ledger or trajectory rows written twice, or rows of a task never finished (must be 0)
    recover_s    seconds from the fault until every task is finished again (the restart, the resume
                 and the rest of the search included); for faults present from the start (a dead
                 port, a hung server, a tree that fills up) the whole run: compare with "no fault"

Scenarios: no fault (the baseline), a dead port, a hung server (accepts, never answers), a vLLM
server SIGKILLed mid-run then restarted, the runner SIGKILLed mid-run then ``--resume``, a
``--ray`` run on 2 workers (a local cluster on 127.0.0.1 that the scenario starts and stops, 48
simulations at least so tasks last) whose searching worker is SIGKILLed once a task is in, a full
disk (a tmpfs: needs root, else skipped with the reason) then more space and ``--resume``, torn
tails in every file the run appends to (plus a truncated tree and a garbled summary), a
trajectories.jsonl cut in half, and a tree that reaches ``max_nodes``. ``ok`` says whether the
scenario's own checks held (exit codes, stop reasons).

    python benchmarks/faults.py                       # the table; about 5 minutes on 2 CPU cores
    python benchmarks/faults.py --tasks 4 --simulations 6 --hung-timeout 1 --json faults.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fault_injection import HungServer, dead_port, jsonl_rows, run_accounting  # noqa: E402

TEACHER = "hf:countdown-expert"


@dataclass
class Outcome:
    scenario: str
    finished: int
    lost: int
    duplicated: int
    recover_s: float | None
    tasks: int = 0
    exit_codes: list[int] = field(default_factory=list)
    ok: bool = True
    note: str = ""


@dataclass
class Setup:
    tasks: int
    simulations: int
    hung_timeout: float | None
    work: Path

    def search(self, out: Path, *teachers: str, extra: tuple[str, ...] = ()) -> list[str]:
        args = [sys.executable, "-m", "mcts.cli", "search", "--num-tasks", str(self.tasks), "--simulations",
                str(self.simulations), "--no-judge", "--out", str(out), "--min-free-mb", "0", *extra]
        for t in teachers or (TEACHER,):
            args += ["--teacher", t]
        return args


def run(cmd: list[str]) -> int:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800).returncode


def launch(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_rows(out: Path, n: int, process: subprocess.Popen) -> bool:
    """Polls until the ledger holds ``n`` tasks (True) or the process has exited (False)."""
    while process.poll() is None:
        if len(jsonl_rows(out / "tasks.jsonl")) >= n:
            return True
        time.sleep(0.05)
    return False


def outcome(name: str, s: Setup, out: Path, recover_s: float | None, codes: list[int], ok: bool, note: str = "") -> Outcome:
    acc = run_accounting(out)
    ok = ok and acc["finished"] == s.tasks and acc["lost"] == 0 and acc["duplicated"] == 0
    return Outcome(name, acc["finished"], acc["lost"], acc["duplicated"],
                   None if recover_s is None else round(recover_s, 1), s.tasks, codes, ok, note)


def resume(s: Setup, out: Path, *teachers: str) -> int:
    return run(s.search(out, *teachers, extra=("--resume",)))


# --- the scenarios ---------------------------------------------------------------------------------


def no_fault(s: Setup) -> Outcome:
    out = s.work / "clean"
    started = time.monotonic()
    code = run(s.search(out))
    return outcome("no fault", s, out, time.monotonic() - started, [code], code == 0, "baseline: the run's own time")


def dead_teacher_port(s: Setup) -> Outcome:
    out = s.work / "dead-port"
    started = time.monotonic()
    code = run(s.search(out, TEACHER, f"openai:http://127.0.0.1:{dead_port()}/v1#none,name=dead"))
    faults = sum(r["faults"].get("dead", 0) for r in jsonl_rows(out / "tasks.jsonl"))
    return outcome("dead port", s, out, time.monotonic() - started, [code], code == 0 and faults > 0,
                   f"benched, {faults} failed call(s)")


def hung_server(s: Setup) -> Outcome:
    out = s.work / "hung"
    bound = {} if s.hung_timeout is None else {"timeout": s.hung_timeout}
    with HungServer() as server:
        started = time.monotonic()
        code = run(s.search(out, TEACHER, server.teacher(**bound)))
        took = time.monotonic() - started
    faults = sum(r["faults"].get("hung", 0) for r in jsonl_rows(out / "tasks.jsonl"))
    limit = f"timeout {s.hung_timeout} s" if s.hung_timeout else "default timeout"
    return outcome("hung server", s, out, took, [code], code == 0 and faults > 0 and server.accepted > 0,
                   f"{limit}, {faults} timed-out call(s)")


def killed_vllm_server(s: Setup) -> Outcome:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return Outcome("killed vLLM server", 0, 0, 0, None, s.tasks, [], True, "skipped: vLLM is not installed")
    from teachers.vllm_server import start_vllm_server

    out = s.work / "vllm-kill"
    server = start_vllm_server("countdown-expert", log_path=s.work / "vllm-1.log")
    # a generous per-attempt bound: a loaded CPU server may be slow, and a killed one is refused at once
    spec = f"openai:{server.url}#{server.model},name=served,timeout=120"
    runner = launch(s.search(out, spec))
    mid_run = wait_for_rows(out, 2, runner)
    killed = time.monotonic()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    stop_code = runner.wait(timeout=600)
    stopped = run_accounting(out)["finished"]
    with start_vllm_server("countdown-expert", port=server.port, log_path=s.work / "vllm-2.log"):
        code = resume(s, out, spec)
    ok = mid_run and stop_code == 1 and stopped < s.tasks and code == 0
    return outcome("killed vLLM server", s, out, time.monotonic() - killed, [stop_code, code], ok,
                   f"stopped with {stopped}/{s.tasks}, restarted, resumed")


def killed_runner(s: Setup) -> Outcome:
    out = s.work / "runner-kill"
    runner = launch(s.search(out))
    mid_run = wait_for_rows(out, 2, runner)
    killed = time.monotonic()
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    stopped = run_accounting(out)["finished"]
    code = resume(s, out)
    return outcome("SIGKILL runner, --resume", s, out, time.monotonic() - killed, [-9, code],
                   mid_run and stopped < s.tasks and code == 0, f"killed at {stopped}/{s.tasks}")


def ray_workers_of(owner: int) -> dict[int, str]:
    """pid -> process title of every ``SearchWorker`` actor process under ``owner`` (the process that
    started the cluster: its raylet forks the actors, and Ray titles each ``ray::SearchWorker``, with
    ``.search`` appended while it searches). Other clusters on the machine are not ours to touch.
    Reads /proc (Linux), as psutil is not among Ray's dependencies."""
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(stat[stat.rindex(")") + 2 :].split()[1])  # after "pid (comm) state": the ppid
        titles[pid] = title

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == owner:
                return True
        return False

    return {pid: title for pid, title in titles.items() if title.startswith("ray::SearchWorker") and descends(pid)}


def wait_for_a_searching_worker(runner: subprocess.Popen, patience_s: float = 30.0) -> tuple[dict[int, str], list[int]]:
    """This process's SearchWorker processes and those of them searching a task, once one is (or the
    run has exited, or ``patience_s`` passed): a worker between tasks holds nothing to lose."""
    deadline = time.monotonic() + patience_s
    while True:
        workers = ray_workers_of(os.getpid())
        busy = [pid for pid, title in workers.items() if title.startswith("ray::SearchWorker.search")]
        if busy or runner.poll() is not None or time.monotonic() > deadline:
            return workers, busy
        time.sleep(0.01)


def killed_ray_worker(s: Setup) -> Outcome:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the cluster on 127.0.0.1 only
    try:
        import ray
    except ImportError:
        return Outcome("killed Ray worker", 0, 0, 0, None, s.tasks, [], True, 'skipped: Ray is not installed (the "ray" extra)')

    out = s.work / "ray-worker-kill"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    runner = None
    try:
        # more simulations: tasks that last, so the kill lands while a worker is searching
        flags = ("--ray", ray.get_runtime_context().gcs_address, "--ray-workers", "2",
                 "--simulations", str(max(s.simulations, 48)))
        runner = launch(s.search(out, extra=flags))
        mid_run = wait_for_rows(out, 1, runner)
        workers, busy = wait_for_a_searching_worker(runner)
        victim = (busy or sorted(workers) or [None])[0]
        at_kill = run_accounting(out)["finished"]
        if mid_run and victim is not None:
            os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        replaced = False  # a new SearchWorker process seen while the run goes on: Ray restarted the actor
        while runner.poll() is None:
            replaced = replaced or bool(set(ray_workers_of(os.getpid())) - set(workers))
            time.sleep(0.05)
        stop_code = runner.returncode
        stopped = run_accounting(out)["finished"]
        codes = [stop_code] if stop_code == 0 else [stop_code, run(s.search(out, extra=("--resume", *flags)))]
    finally:
        if runner is not None and runner.poll() is None:  # an error here: no run left behind
            runner.kill()
            runner.wait()
        ray.shutdown()
    if not (mid_run and victim is not None and at_kill < s.tasks):
        return outcome("killed Ray worker", s, out, None, codes, False, "no worker was killed: the run ended first")
    how = f"stopped with {stopped}/{s.tasks}, resumed" if stop_code else "Ray restarted it, the run went on" if replaced else "the run went on"
    when = "mid-search" if victim in busy else "between tasks"
    return outcome("killed Ray worker", s, out, time.monotonic() - killed, codes, codes[-1] == 0,
                   f"2 workers, one SIGKILLed {when} at {at_kill}/{s.tasks} finished; {how}")


def disk_for_half_a_run(clean: Path) -> int:
    """KiB of tmpfs (4 KiB pages, a page per file at least) that hold about half of the baseline's run."""
    if not clean.exists():
        return 96
    pages = sum(-(-p.stat().st_size // 4096) + (p.is_dir()) for p in clean.rglob("*")) + 1
    return max(32, 4 * (pages // 2))


def full_disk(s: Setup) -> Outcome:
    mount = s.work / "disk"
    mount.mkdir()
    size_kib = disk_for_half_a_run(s.work / "clean")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = mounted.stderr.strip() or "mount failed"
        return Outcome("full disk", 0, 0, 0, None, s.tasks, [], True, f"skipped: cannot mount a tmpfs ({reason}); needs root")
    try:
        out = mount / "run"
        stop_code = run(s.search(out))
        stopped_at = time.monotonic()
        stopped = run_accounting(out)["finished"]
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)  # space freed
        code = resume(s, out)
        result = outcome("full disk, more space, --resume", s, out, time.monotonic() - stopped_at, [stop_code, code],
                         stop_code == 1 and code == 0 and stopped < s.tasks, f"stopped with {stopped}/{s.tasks} on {size_kib} KiB")
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    return result


def finished_copy(s: Setup, name: str) -> Path:
    """A copy of the baseline's finished run, to damage."""
    out = s.work / name
    shutil.copytree(s.work / "clean", out)
    return out


def torn_tails(s: Setup) -> Outcome:
    out = finished_copy(s, "torn")
    started = time.monotonic()
    ledger = (out / "tasks.jsonl").read_bytes()
    (out / "tasks.jsonl").write_bytes(ledger[: len(ledger) - 40])  # the last task's row torn: it is redone
    for name, tail in (("trajectories.jsonl", '{"task_id"'), ("weights.csv", "9,count")):
        with open(out / name, "a") as f:
            f.write(tail)  # a crash mid-write: no newline
    trees = sorted((out / "trees").iterdir())
    trees[-1].write_bytes(trees[-1].read_bytes()[:40])
    (out / "summary.json").write_text('{"tasks": 3, "sol')
    code = resume(s, out)
    return outcome("torn tails, truncated tree, --resume", s, out, time.monotonic() - started, [code], code == 0,
                   "last ledger row torn (redone), trajectories/weights torn, last tree cut, summary garbled")


def cut_trajectories(s: Setup) -> Outcome:
    out = finished_copy(s, "cut")
    started = time.monotonic()
    lines = (out / "trajectories.jsonl").read_text().splitlines(keepends=True)
    (out / "trajectories.jsonl").write_text("".join(lines[: len(lines) // 2]))
    lost_before = run_accounting(out)["lost"]
    code = resume(s, out)
    return outcome("trajectories.jsonl cut in half, --resume", s, out, time.monotonic() - started, [code],
                   code == 0 and lost_before > 0, f"{len(lines) - len(lines) // 2} of {len(lines)} rows cut; tasks searched again")


def tree_full(s: Setup) -> Outcome:
    out = s.work / "tree-full"
    config = s.work / "tree-full.toml"
    config.write_text("[search.selection]\nmax_nodes = 40\n")
    started = time.monotonic()
    code = run(s.search(out, extra=("--config", str(config), "--simulations", str(max(s.simulations, 64)))))
    full = sum(r["stop_reason"] == "tree full" for r in jsonl_rows(out / "tasks.jsonl"))
    return outcome("tree full (max_nodes 40)", s, out, time.monotonic() - started, [code], code == 0 and full > 0,
                   f"{full} task(s) stopped at max_nodes")


SCENARIOS: dict[str, Callable[[Setup], Outcome]] = {
    "no-fault": no_fault,
    "dead-port": dead_teacher_port,
    "hung-server": hung_server,
    "killed-vllm-server": killed_vllm_server,
    "killed-runner": killed_runner,
    "killed-ray-worker": killed_ray_worker,
    "full-disk": full_disk,
    "torn-tails": torn_tails,
    "cut-trajectories": cut_trajectories,
    "tree-full": tree_full,
}


def table(outcomes: list[Outcome]) -> Table:
    t = Table(title="fault injection")
    for col in ("scenario", "finished", "lost", "duplicated", "recover_s", "exit codes", "ok", "note"):
        t.add_column(col, justify="right" if col in ("finished", "lost", "duplicated", "recover_s") else "left")
    for o in outcomes:
        recover = "-" if o.recover_s is None else f"{o.recover_s:.1f}"
        t.add_row(o.scenario, f"{o.finished}/{o.tasks}", str(o.lost), str(o.duplicated), recover,
                  " -> ".join(map(str, o.exit_codes)), "yes" if o.ok else "NO", o.note)
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--simulations", type=int, default=12)
    parser.add_argument("--hung-timeout", type=float, default=None,
                        help="the hung teacher's per-attempt timeout (default: the teacher's own default)")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS),
                        help="which to run (torn-tails and cut-trajectories damage no-fault's run; full-disk sizes its tmpfs by it)")
    parser.add_argument("--json", type=Path, help="write the rows as a JSON list here")
    args = parser.parse_args()
    names = list(args.scenarios)
    if {"torn-tails", "cut-trajectories", "full-disk"} & set(names) and "no-fault" not in names:
        names.insert(0, "no-fault")
    with tempfile.TemporaryDirectory(prefix="faults-") as work:
        setup = Setup(args.tasks, args.simulations, args.hung_timeout, Path(work))
        outcomes = []
        for name in names:
            outcomes.append(SCENARIOS[name](setup))
            Console(stderr=True).print(f"{name}: done")
    Console(width=200).print(table(outcomes))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    sys.exit(main())
