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


@pytest.mark.slow
def test_grpo_ppo_and_value_data_read_a_text_run(tmp_path, text_rows):
    """The trainers' data builders on a real text run: rewards are the paths' returns, and GRPO and
    PPO train the bundled policy on it."""
    from mcts.train.grpo import grouped_samples
    from mcts.train.ppo import PPOConfig, step_samples
    from mcts.train.tree_data import load_records
    from value.value_data import value_examples

    config = tmp_path / "run.toml"
    config.write_text('task = "text"\n[rewards]\nbleu = 0.5\nrougeL = 0.5\n[search]\nstop_on_solve = false\n')
    run = tmp_path / "run"
    assert main(["search", "--config", str(config), "--data", str(text_rows), "--simulations", "12",
                 "--out", str(run), "--min-free-mb", "0"]) == 0
    records = load_records(run)
    returns = {(r.trajectory.task_id, tuple(s.text for s in r.trajectory.steps)): r.trajectory.final_reward for r in records}

    by_prompt = grouped_samples(records, group_by="prompt", keep_zero_advantage=True)
    assert len(by_prompt) == len(records)
    assert sorted(s.reward for s in by_prompt) == pytest.approx(sorted(returns.values()))
    for group in {s.group for s in by_prompt}:
        members = [s for s in by_prompt if s.group == group]
        if len({round(s.reward, 9) for s in members}) > 1:  # group-normalised: advantages centre on 0
            assert sum(s.advantage for s in members) == pytest.approx(0.0, abs=1e-4)
            assert all((s.advantage > 0) == (s.reward > sum(m.reward for m in members) / len(members)) for s in members)

    samples = step_samples(records, PPOConfig())
    assert len(samples) == sum(len(r.trajectory.steps) for r in records)
    at = 0
    for record in records:  # the path's return on its last step, nothing before (intermediate_weight 0)
        n = len(record.trajectory.steps)
        assert [s.reward for s in samples[at : at + n]] == pytest.approx([0.0] * (n - 1) + [record.trajectory.final_reward])
        at += n

    examples = value_examples(records)
    assert examples and all(0.0 <= e.mc_return <= 1.0 + 1e-6 and e.outcome == 0.0 for e in examples)
    assert len({round(e.mc_return, 6) for e in examples}) > 1  # the text scores reach the value targets

    policy = "countdown-policy"
    for algo in ("grpo", "ppo"):
        out = tmp_path / algo
        extra = ["--group-by", "prompt"] if algo == "grpo" else []
        assert main(["train", "--run", str(run), "--policy", policy, "--out", str(out), "--algo", algo,
                     "--batch-size", "64", "--lr", "1e-3", "--no-progress", *extra]) == 0
        rows = list(csv.DictReader(open(out / "metrics.csv", newline="")))
        assert rows and all(float(r["kl"]) == float(r["kl"]) for r in rows)  # trained, finite
        assert (out / "model.safetensors").is_file()
