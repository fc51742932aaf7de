"""The bundled text task (countdown-text): the shipped file is what its script writes, and a search on
it with the bundled teachers and the default metric ensemble learns the teachers' real skill ladder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from mcts.cli import main
from mcts.run.config import load_run_config
from mcts.tasks.countdown import Puzzle, verify
from mcts.tasks.countdown_solver import puzzle_split
from mcts.tasks.text_data import BUNDLED_TEXT_TASKS, TEXT_TASK_NAME

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = BUNDLED_TEXT_TASKS[TEXT_TASK_NAME]


def _puzzle(row: dict) -> Puzzle:
    lines = row["prompt"].splitlines()
    return Puzzle(row["id"], tuple(int(n) for n in lines[0].split(":")[1].split()), int(lines[1].split(":")[1]))


def test_bundled_file_is_what_the_script_writes_and_holds_training_side_worked_answers(tmp_path):
    out = tmp_path / "rows.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_text_task.py"), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == BUNDLED.read_bytes()
    rows = [json.loads(line) for line in BUNDLED.read_text().splitlines()]
    assert len(rows) == 24
    for row in rows:
        puzzle = _puzzle(row)
        assert puzzle_split(puzzle.numbers, puzzle.target) == "train"
        assert verify(puzzle, row["reference"]).solved  # the reference is a worked, correct answer


def test_a_bundled_name_resolves_to_the_shipped_file(tmp_path, monkeypatch):
    assert load_run_config(None, {"task": "text", "data": TEXT_TASK_NAME}).data == str(BUNDLED)
    monkeypatch.chdir(tmp_path)
    (tmp_path / TEXT_TASK_NAME).write_text("")  # a file of that name in the working directory wins
    assert load_run_config(None, {"task": "text", "data": TEXT_TASK_NAME}).data == TEXT_TASK_NAME


def _greedy_scores(tasks, teacher: str) -> list[float]:
    """The metric-ensemble score of the teacher's greedy answer to each task (the run's own ensemble)."""
    from mcts.tasks.countdown_eval import generate_responses, load_model
    from mcts.types import ScoredText

    model, tokenizer = load_model(teacher)
    answers = [r[0] for r in generate_responses(model, tokenizer, [_puzzle({"id": t.id, "prompt": t.prompt}) for t in tasks])]
    states = [ScoredText(t.prompt, (a,), t.reference, t.id) for t, a in zip(tasks, answers)]
    return [b.total for b in tasks[0].ensemble.score(states)]


@pytest.mark.slow
def test_search_on_the_bundled_task_ranks_teachers_by_skill_and_beats_their_greedy_answers(tmp_path):
    import torch

    from mcts.run.setup import build_tasks
    from mcts.tree_io import load_tree

    torch.set_num_threads(1)
    out = tmp_path / "run"
    # Out of the box: the default teachers (expert, noisy, format) and the default metric ensemble.
    assert main(["search", "--task", "text", "--data", TEXT_TASK_NAME, "--simulations", "32", "--out", str(out),
                 "--min-free-mb", "0"]) == 0

    _, weights = load_tree(sorted((out / "trees").glob("*.tree"))[-1])  # the weights after the last task
    p = dict(zip(weights.names, weights.probabilities()))
    score = dict(zip(weights.names, weights.scores()))
    assert p["countdown-expert"] > max(p["countdown-noisy"], p["countdown-format"])
    assert score["countdown-expert"] > score["countdown-noisy"] > score["countdown-format"]

    rows = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    best: dict[str, float] = defaultdict(float)
    for row in rows:
        best[row["task_id"]] = max(best[row["task_id"]], row["final_reward"])
    tasks = build_tasks(load_run_config(out / "config.toml"))
    assert sorted(best) == sorted(t.id for t in tasks)
    best_mean = sum(best.values()) / len(best)
    for teacher in ("countdown-expert", "countdown-noisy", "countdown-format"):
        greedy = _greedy_scores(tasks, teacher)
        assert best_mean > sum(greedy) / len(greedy), teacher
