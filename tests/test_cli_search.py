"""``mcts-llm search`` and ``mcts-llm show`` end to end on the bundled models (the real product path)."""

from __future__ import annotations

import json

import pytest

from mcts.cli import main


@pytest.mark.slow
def test_search_then_show_on_the_bundled_teachers(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "run"
    code = main(["search", "--num-tasks", "3", "--simulations", "12", "--seed", "3", "--out", str(out), "--min-free-mb", "0"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 3 and summary["tokens"] > 0
    assert set(summary["teacher_probabilities"]) == {"countdown-expert", "countdown-noisy", "countdown-format"}
    rows = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    assert rows and all(r["steps"] for r in rows)
    assert len(list((out / "trees").glob("*.tree"))) == 3
    capsys.readouterr()

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "countdown-expert" in shown and (out / "weights.png").stat().st_size > 0

    # --resume finds every task finished and adds nothing.
    before = (out / "trajectories.jsonl").read_text()
    assert main(["search", "--num-tasks", "3", "--simulations", "12", "--seed", "3", "--out", str(out),
                 "--min-free-mb", "0", "--resume"]) == 0
    assert (out / "trajectories.jsonl").read_text() == before


@pytest.mark.slow
def test_concurrent_tasks_on_the_bundled_teachers_are_reproducible(tmp_path):
    """Three searches at once, their HF teacher calls batched: every task saved, the same twice."""
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["search", "--num-tasks", "3", "--simulations", "12", "--seed", "4", "--concurrent-tasks", "3",
                     "--out", str(out), "--min-free-mb", "0"]) == 0
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["tasks"] == 3 and summary["wall_seconds"] > 0
    assert len(list((outs[0] / "trees").glob("*.tree"))) == 3
    assert (outs[0] / "trajectories.jsonl").read_text() == (outs[1] / "trajectories.jsonl").read_text()


def test_a_bad_teacher_path_is_one_clear_error(tmp_path, capsys):
    code = main(["search", "--teacher", f"hf:{tmp_path / 'no-such-model'}", "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err


@pytest.mark.slow
def test_a_run_with_per_context_weights_shows_each_contexts_leader_live_and_plots_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    config = tmp_path / "run.toml"
    config.write_text('[search.weights]\ncontext = "depth"\n')
    out = tmp_path / "run"
    assert main(["search", "--config", str(config), "--num-tasks", "2", "--simulations", "12", "--seed", "3",
                 "--out", str(out), "--min-free-mb", "0"]) == 0
    live = capsys.readouterr().err  # the live table goes to stderr
    assert "context 0: countdown-" in live and "leads" in live
    assert main(["show", str(out)]) == 0
    assert "weights per context" in capsys.readouterr().out
    from PIL import Image

    with Image.open(out / "weights_contexts.png") as image:
        assert image.size[0] > image.size[1] > 100  # panels side by side


def test_the_step_rule_is_a_flag_and_a_bad_one_is_one_clear_error(tmp_path, capsys):
    assert main(["search", "--step", "tokens:0", "--num-tasks", "1", "--out", str(tmp_path / "bad")]) == 2
    assert "step" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["search", "--step", "sentence", "--num-tasks", "1", "--simulations", "2", "--no-judge",
                 "--teacher", "hf:countdown-expert", "--out", str(out), "--min-free-mb", "0"]) == 0
    assert 'step = "sentence"' in (out / "config.toml").read_text()
