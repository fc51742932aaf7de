"""Teacher faults for real: a teacher pointed at a dead port on 127.0.0.1 (nothing listens there).

A failing teacher is benched for the run (not only for the task), the search goes on with the others,
and the failures are in the task rows; when every teacher is down the run stops with a non-zero exit,
records nothing as finished, and ``--resume`` searches those tasks later.
"""

from __future__ import annotations

import json
import socket

import pytest

from mcts.cli import main


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_teacher() -> str:
    return f"openai:http://127.0.0.1:{dead_port()}/v1#none,name=dead,retries=0,timeout=2"


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


@pytest.mark.slow
def test_a_dead_teacher_is_benched_for_the_run_and_the_others_go_on(tmp_path, caplog):
    out = tmp_path / "run"
    code = main(["search", "--teacher", "hf:countdown-expert", "--teacher", dead_teacher(), "--num-tasks", "6",
                 "--simulations", "8", "--no-judge", "--out", str(out), "--min-free-mb", "0"])
    assert code == 0
    tasks = rows(out / "tasks.jsonl")
    assert len(tasks) == 6 and all(t["tokens"] > 0 for t in tasks)
    faults = [t["faults"].get("dead", 0) for t in tasks]
    # benched at its first failure, then only probed every 4 tasks: not asked again in every task
    assert faults[0] >= 1 and sum(1 for f in faults[1:] if f) <= 2
    assert sum("benched for the run" in r.message for r in caplog.records) == 1


@pytest.mark.slow
def test_with_every_teacher_down_the_run_stops_and_records_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--teacher", dead_teacher(), "--num-tasks", "3", "--simulations", "8", "--no-judge",
            "--out", str(out), "--min-free-mb", "0"]
    assert main(args) == 1
    assert "every teacher failed" in capsys.readouterr().err
    assert rows(out / "tasks.jsonl") == [] and rows(out / "trajectories.jsonl") == []
    # the teachers are back (here: a working one in its place) and --resume searches the tasks now
    resumed = ["search", "--teacher", "hf:countdown-expert", "--num-tasks", "3", "--simulations", "8", "--no-judge",
               "--out", str(out), "--min-free-mb", "0", "--resume", "--allow-config-change", "teachers"]
    assert main(resumed) == 0
    assert len(rows(out / "tasks.jsonl")) == 3
