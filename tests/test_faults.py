"""The fault-injection suite (``benchmarks/faults.py``) at a small size: every real fault — a dead
port, a hung server, a SIGKILLed vLLM server, a SIGKILLed runner, a SIGKILLed Ray worker (on a local
cluster on 127.0.0.1), a full tmpfs, torn and cut files, a full tree — ends with every task finished
after ``--resume``, nothing lost and nothing written twice."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_vllm

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "faults.py"


@pytest.mark.slow
@pytest.mark.vllm
def test_every_fault_loses_and_duplicates_nothing(tmp_path):
    require_vllm()  # the killed-server scenario needs a real vLLM server
    out = tmp_path / "faults.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--tasks", "4", "--simulations", "6", "--hung-timeout", "1",
                           "--json", str(out)], capture_output=True, text=True, timeout=1800)
    rows = {r["scenario"]: r for r in json.loads(out.read_text())}
    assert len(rows) == 10, done.stdout[-3000:]
    for name, row in rows.items():
        assert {"scenario", "finished", "lost", "duplicated", "recover_s"} <= set(row)
        assert row["lost"] == 0 and row["duplicated"] == 0, row
        if row["note"].startswith("skipped"):
            # only the tmpfs (no root) and Ray (an extra) may be out of reach
            assert name.startswith("full disk") or (name == "killed Ray worker" and not importlib.util.find_spec("ray")), row
            continue
        assert row["ok"] and row["finished"] == 4, row
    assert rows["killed vLLM server"]["exit_codes"] == [1, 0]  # a clean stop, then the resume
    if importlib.util.find_spec("ray"):  # Ray restarts the killed worker's actor and searches its task again
        assert rows["killed Ray worker"]["exit_codes"] == [0] and "mid-search" in rows["killed Ray worker"]["note"]
    assert done.returncode == 0, done.stderr[-3000:]
