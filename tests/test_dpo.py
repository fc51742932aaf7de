"""`mcts-llm train --algo dpo|orpo` with TRL on the bundled policy: pairs in, a checkpoint that loads as a
teacher and a held-out margin report out. (Mechanics only: the floors of issue 14 — held-out margin
grows, greedy solve rate holds — are not yet met on pairs from a small search; see the issue.)"""

from __future__ import annotations

import json
import random

import pytest

from mcts.cli import main
from mcts.tasks.countdown import format_prompt
from mcts.tasks.countdown_solver import generate_puzzles, solve


def _pairs(path, n=24):
    """Chosen: a solver-worked answer; rejected: the same first number used twice (an invalid step)."""
    rows = []
    for p in generate_puzzles(n, seed=9, split="train"):
        good = "".join(solve(p.numbers, p.target, random.Random(0)))
        a = p.numbers[0]
        rows.append({"prompt": format_prompt(p), "chosen": good, "rejected": f"{a}+{a}={2 * a} (left: {2 * a})\n",
                     "task_id": p.id})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["dpo", "orpo"])
def test_train_on_pairs_writes_a_teacher_and_the_margin_report(tmp_path, algo):
    import torch

    from teachers import load_teacher, parse_spec

    torch.set_num_threads(1)
    pairs = _pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / algo
    assert main(["train", "--algo", algo, "--pairs", str(pairs), "--policy", "countdown-policy", "--out", str(out),
                 "--lr", "5e-5", "--epochs", "2", "--batch-size", "8", "--device", "cpu"]) == 0
    report = json.loads((out / "preference.json").read_text())
    assert report["algo"] == algo and report["train_pairs"] + report["heldout_pairs"] == 24
    assert report["heldout_pairs"] > 0 and report["steps"] > 0
    assert report["heldout_margin_after"] > report["heldout_margin_before"]
    teacher = load_teacher(parse_spec(f"hf:{out}"))
    teacher.close()


def test_dpo_needs_pairs(capsys):
    assert main(["train", "--algo", "dpo", "--policy", "countdown-policy", "--out", "x"]) == 2
    assert "--pairs" in capsys.readouterr().err
