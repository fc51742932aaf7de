"""Same seed, same search: a small countdown run replayed against trajectories recorded before the
search package was restructured (tests/data/golden_search, recorded with the command below).

    mcts-llm search --num-tasks 4 --simulations 24 --seed 3 --out DIR   (judge off, rollouts)

The weights' defaults have moved since (``ema_rate`` 0.02 -> 0.005, the cap 0.8 -> 0.9, warm-up on; chosen on dev
puzzles); the replay pins the recorded ones in a config file, so it still checks the machinery.

Texts, teachers, visits, node ids and verdicts must match exactly; floats to 1e-6 (priors come from
float32 likelihoods, the weights from the native EMA). Fields added to the rows since are ignored.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mcts.cli import main

GOLDEN = Path(__file__).parent / "data" / "golden_search"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _close(a, b, where: str) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-6), where
    elif isinstance(a, dict):
        assert set(b) <= set(a), where  # fields added since the recording may appear (e.g. "pruned")
        for key in b:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_a_seeded_run_reproduces_the_recorded_trajectories(tmp_path):
    out = tmp_path / "run"
    recorded = tmp_path / "recorded.toml"
    recorded.write_text("[search.weights]\nema_rate = 0.02\nmax_weight = 0.8\nwarmup = false\n")
    code = main(["search", "--config", str(recorded), "--num-tasks", "4", "--simulations", "24", "--seed", "3",
                 "--device", "cpu", "--no-judge", "--out", str(out)])
    assert code == 0
    fields = ("task_id", "prompt", "steps", "final_reward", "solved", "node_ids", "parent_ids")
    got, want = _rows(out / "trajectories.jsonl"), _rows(GOLDEN / "trajectories.jsonl")
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        _close({k: g[k] for k in fields}, {k: w[k] for k in fields}, f"trajectory {i}")
    tasks = _rows(out / "tasks.jsonl")
    for i, (g, w) in enumerate(zip(tasks, _rows(GOLDEN / "tasks.jsonl"))):
        _close({k: g[k] for k in w}, w, f"task {i}")
    with open(out / "weights.csv") as a, open(GOLDEN / "weights.csv") as b:
        for g, w in zip(csv.reader(a), csv.reader(b)):
            assert g[:2] == w[:2]
            assert [float(x) for x in g[2:]] == pytest.approx([float(x) for x in w[2:]], abs=1e-6) if g[0] != "task_index" else g == w
