"""A text task end to end on the bundled teachers: rows carry the path's return, teachers are credited.

Prompts are countdown questions with worked reference answers; the metric ensemble (BLEU, ROUGE-L)
scores each response. The bundled teachers are real models (they write countdown steps).
"""

from __future__ import annotations

import csv
import json

import pytest

from mcts.cli import main
from mcts.tasks.countdown import format_prompt
from mcts.tasks.countdown_solver import generate_puzzles, solve


@pytest.fixture
def text_rows(tmp_path):
    import random

    path = tmp_path / "rows.jsonl"
    rows = []
    for p in generate_puzzles(4, seed=31, split="heldout"):
        rows.append({"id": p.id, "prompt": format_prompt(p), "reference": "".join(solve(p.numbers, p.target, random.Random(0)))})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_a_text_run_writes_returns_and_moves_the_weights(tmp_path, text_rows):
    config = tmp_path / "run.toml"
    config.write_text('task = "text"\n[rewards]\nbleu = 0.5\nrougeL = 0.5\n[search]\nstop_on_solve = false\n')
    out = tmp_path / "run"
    assert main(["search", "--config", str(config), "--data", str(text_rows), "--simulations", "12",
                 "--out", str(out), "--min-free-mb", "0"]) == 0
    rows = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    assert rows
    for row in rows:
        # the path's return is the sum of its steps' rewards (no judge here: reward = task reward),
        # which telescopes to the metric score of the whole response
        assert row["final_reward"] == pytest.approx(sum(s["reward"] for s in row["steps"]), abs=1e-5)
        assert 0.0 <= row["final_reward"] <= 1.0 + 1e-6
        assert row["solved"] is False
    assert len({round(r["final_reward"], 6) for r in rows}) > 1
    with open(out / "weights.csv") as f:
        probabilities = [[float(x) for x in r[2:]] for r in list(csv.reader(f))[1:]]
    assert any(abs(p - 1 / 3) > 1e-3 for p in probabilities[-1])  # credited: the weights moved
