"""A real full filesystem: a small tmpfs mounted for the test (needs root; skipped where it cannot mount).

The run writes until the disk refuses, then stops cleanly (exit 1): every task in the ledger has its
trajectories, no temporary file is left behind, and nothing half-written is counted as done.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from mcts.cli import main


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'mount failed'}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_at_the_start_is_one_clear_error(small_disk, capsys):
    code = main(["search", "--num-tasks", "2", "--simulations", "4", "--out", str(small_disk / "run"), "--no-judge"])
    assert code == 2
    err = capsys.readouterr().err
    assert "free" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_disk_that_fills_up_stops_the_run_cleanly_and_loses_nothing(small_disk):
    out = small_disk / "run"
    code = main(["search", "--num-tasks", "40", "--simulations", "24", "--out", str(out), "--min-free-mb", "0",
                 "--no-judge"])
    assert code == 1  # stopped, not crashed
    finished = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines() if line.endswith("}")]
    assert 0 < len(finished) < 40
    rows = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines() if line.strip()]
    assert {r["task_id"] for r in finished} <= {r["task_id"] for r in rows}
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
