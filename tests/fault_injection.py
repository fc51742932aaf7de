"""Real faults for the tests and ``benchmarks/faults.py``: a dead port, a hung server, and the
accounting of a run directory (trajectories lost or duplicated against the tasks it recorded)."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from pathlib import Path


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HungServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers (nor closes it):
    what a wedged inference server looks like from the client. ``accepted`` counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            self._held.append(conn)  # held open, never read or written

    def teacher(self, name: str = "hung", **options: object) -> str:
        extra = "".join(f",{k}={v}" for k, v in options.items())
        return f"openai:http://127.0.0.1:{self.port}/v1#none,name={name}{extra}"

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> HungServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def jsonl_rows(path: Path) -> list[dict]:
    """Every whole row of a JSONL file (a torn last line is not a row)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n") and line.strip()]


def run_accounting(out: Path) -> dict[str, int]:
    """What a run directory holds: ``finished`` tasks in the ledger; trajectory rows ``lost`` (a
    finished task with fewer rows than it recorded) and ``duplicated`` (a ledger row or a trajectory
    row written twice, more rows than a task recorded, or rows of a task never recorded finished)."""
    ledger = jsonl_rows(out / "tasks.jsonl")
    paths = jsonl_rows(out / "trajectories.jsonl")
    per_task = Counter(r["task_id"] for r in paths)
    recorded = {r["task_id"]: r["trajectories"] for r in ledger}
    lost = sum(max(0, n - per_task[t]) for t, n in recorded.items())
    duplicated = len(ledger) - len(recorded)
    duplicated += sum(max(0, per_task[t] - n) for t, n in recorded.items())
    duplicated += sum(n for t, n in per_task.items() if t not in recorded)
    duplicated += sum(c - 1 for c in Counter(json.dumps(r, sort_keys=True) for r in paths).values() if c > 1)
    return {"finished": len(recorded), "lost": lost, "duplicated": duplicated}
