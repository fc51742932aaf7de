"""Teacher faults for real: a teacher pointed at a dead port on 127.0.0.1 (nothing listens there),
and one pointed at a hung server (it accepts the connection and never answers).

A failing teacher is benched for the run (not only for the task), the search goes on with the others,
and the failures are in the task rows; when every teacher is down the run stops with a non-zero exit,
records nothing as finished, and ``--resume`` searches those tasks later.
"""

from __future__ import annotations

import json

import pytest
from fault_injection import HungServer, dead_port, run_accounting

from mcts.cli import main
from mcts.types import GenerationRequest
from teachers import TeacherTimeoutError
from teachers.openai_http import OpenAITeacher


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


# ------------------------------------------------------------------------------------------------
# A hung server: every attempt is cut at ``timeout``, the retry chain at ``deadline``.
# ------------------------------------------------------------------------------------------------


def test_a_hung_server_is_a_timeout_fault_and_the_deadline_cuts_the_retries():
    with HungServer() as server:
        teacher = OpenAITeacher(f"http://127.0.0.1:{server.port}/v1", "none", timeout=0.3, deadline=0.8,
                                retries=20, backoff=0.01)
        with pytest.raises(TeacherTimeoutError, match=r"deadline=0.8 s\); last error: timed out after"):
            teacher.generate([GenerationRequest("Numbers: 1 2 3 4\nTarget: 24\n", max_tokens=4)])
        assert server.accepted >= 1  # the server really took the connection: a hang, not a refusal
        # each timed-out attempt spent its whole bound: the 0.8 s deadline leaves room for at most 3
        assert 2 <= teacher.stats.http_requests <= 3 and teacher.stats.retries < 20


def test_the_default_bounds_stay_within_thirty_seconds():
    teacher = OpenAITeacher("http://127.0.0.1:9/v1", "m")
    assert teacher.timeout <= 30 and teacher.deadline <= 30
    assert OpenAITeacher("http://127.0.0.1:9/v1", "m", timeout=120).deadline == 120  # one whole attempt at least


@pytest.mark.slow
def test_a_hung_teacher_is_benched_and_the_others_go_on(tmp_path):
    out = tmp_path / "run"
    with HungServer() as server:
        code = main(["search", "--teacher", "hf:countdown-expert", "--teacher", server.teacher(timeout=0.5, retries=1),
                     "--num-tasks", "4", "--simulations", "8", "--no-judge", "--out", str(out), "--min-free-mb", "0"])
        assert server.accepted >= 1
    assert code == 0
    tasks = rows(out / "tasks.jsonl")
    assert len(tasks) == 4 and all(t["tokens"] > 0 for t in tasks)
    assert tasks[0]["faults"].get("hung", 0) >= 1
    assert run_accounting(out) == {"finished": 4, "lost": 0, "duplicated": 0}


@pytest.mark.slow
def test_with_the_only_teacher_hung_the_run_stops_then_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    with HungServer() as server:
        args = ["search", "--teacher", server.teacher(timeout=0.5, retries=1), "--num-tasks", "3", "--simulations", "8",
                "--no-judge", "--out", str(out), "--min-free-mb", "0"]
        assert main(args) == 1
    assert "every teacher failed" in capsys.readouterr().err
    assert run_accounting(out)["finished"] == 0 and rows(out / "trajectories.jsonl") == []
    resumed = ["search", "--teacher", "hf:countdown-expert", "--num-tasks", "3", "--simulations", "8", "--no-judge",
               "--out", str(out), "--min-free-mb", "0", "--resume", "--allow-config-change", "teachers"]
    assert main(resumed) == 0
    assert run_accounting(out) == {"finished": 3, "lost": 0, "duplicated": 0}
