"""The fault-injection suite (``benchmarks/faults.py``) at a small size: every real fault — a dead
port, a hung server, a SIGKILLed vLLM server, a SIGKILLed runner, a full tmpfs, torn and cut files,
a full tree — ends with every task finished after ``--resume``, nothing lost and nothing written twice."""

from __future__ import annotations

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
    assert len(rows) == 9, done.stdout[-3000:]
    for name, row in rows.items():
        assert {"scenario", "finished", "lost", "duplicated", "recover_s"} <= set(row)
        assert row["lost"] == 0 and row["duplicated"] == 0, row
        if row["note"].startswith("skipped"):
            assert name.startswith("full disk"), row  # only the tmpfs may be out of reach (no root)
            continue
        assert row["ok"] and row["finished"] == 4, row
    assert rows["killed vLLM server"]["exit_codes"] == [1, 0]  # a clean stop, then the resume
    assert done.returncode == 0, done.stderr[-3000:]
