"""``mcts-llm fit-rewards``: fits the ensemble on the shipped toy tuning set, reports the held-out fit,
and writes a TOML fragment that the run config loader accepts as it is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import value
from mcts.cli import main
from mcts.commands.fit_rewards import fragment
from mcts.run.config import load_run_config
from mcts.tasks.text_data import TEXT_TASK_NAME
from value.fit import FitReport

TOY_SET = Path(value.__file__).parent / "data" / "toy_tuning_set.jsonl"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_fit_rewards_reports_the_heldout_fit_and_writes_a_fragment_the_run_config_accepts(tmp_path, capsys):
    out = tmp_path / "rewards.toml"
    assert main(["fit-rewards", str(TOY_SET), "--ridge", "0.01", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == out.read_text()  # stdout carries the fragment alone
    assert "Spearman (held out)" in captured.err
    header = out.read_text().splitlines()[0]
    spearman = float(header.split("Spearman ")[1].split(",")[0])
    assert spearman > 0.3  # the metrics rank the hand labels of held-out rows better than chance
    weights = tomllib.loads(out.read_text())["rewards"]
    assert sum(weights.values()) > 0 and all(w >= 0 for w in weights.values())

    run = tmp_path / "run.toml"
    run.write_text(f'task = "text"\ndata = "{TEXT_TASK_NAME}"\n' + out.read_text())
    config = load_run_config(run)
    assert config.rewards == weights

    from mcts.run.setup import build_tasks

    tasks = build_tasks(config)
    assert tasks[0].ensemble.weights == {k: pytest.approx(w) for k, w in weights.items()}


def test_a_fragment_with_a_scoring_model_loads_too(tmp_path):
    report = FitReport(5, "nnls", "leave-one-out", 0.5, 0.4, 0.7, 0.1)
    text = fragment({"bleu": 0.25, "perplexity_reward": 0.5}, report, "tuning.jsonl", "countdown-policy")
    run = tmp_path / "run.toml"
    run.write_text('task = "text"\ndata = "rows.jsonl"\n' + text)
    config = load_run_config(run)
    assert config.scoring_model == "countdown-policy"
    assert config.rewards == {"bleu": 0.25, "perplexity_reward": 0.5}


def test_a_bad_tuning_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "score": "high"}\n')
    assert main(["fit-rewards", str(bad)]) == 2
    assert "score" in capsys.readouterr().err
    assert main(["fit-rewards", str(tmp_path / "missing.jsonl")]) == 2
