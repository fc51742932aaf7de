"""The learning and concurrency benchmarks run end to end at toy sizes and write the JSON they promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

pytestmark = pytest.mark.slow


def run_script(name: str, *args: str) -> None:
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_policy_improvement_writes_one_row_per_round(tmp_path):
    import torch
    from safetensors.torch import load_file

    out, run = tmp_path / "pi.json", tmp_path / "run"
    run_script("policy_improvement.py", "--rounds", "2", "--search-tasks", "6", "--simulations", "8",
               "--concurrent-tasks", "3", "--eval-tasks", "6", "--k", "2", "--ema", "0.5", "--out", str(run),
               "--json", str(out))
    report = json.loads(out.read_text())
    assert [r["round"] for r in report["rounds"]] == [0, 1, 2]
    for row in report["rounds"]:
        assert {"greedy", "best_of_8", "kl"} <= set(row) and 0 <= row["greedy"] <= 1
    assert report["rounds"][1]["search_tokens"] > 0
    # --ema: round 2 measures the mean of the round-1 and round-2 weights
    first, second, ema = (load_file(str(run / f"round-{r}" / d / "model.safetensors"))
                          for r, d in ((1, "policy"), (2, "policy"), (2, "ema")))
    assert all(torch.allclose(ema[k], 0.5 * first[k] + 0.5 * second[k], atol=1e-6) for k in ema)


def test_concurrent_search_compares_against_one_at_a_time(tmp_path):
    out = tmp_path / "cs.json"
    run_script("concurrent_search.py", "--tasks", "4", "--concurrent", "4", "--simulations", "8", "--json", str(out))
    rows = json.loads(out.read_text())["rows"]
    assert [r["concurrent_tasks"] for r in rows] == [1, 4]
    assert rows[1]["teacher_calls"] < rows[0]["teacher_calls"]
    assert rows[0]["speedup"] == 1.0


def test_search_quality_compares_methods_and_writes_the_curves(tmp_path):
    out = tmp_path / "sq.json"
    run_script("search_quality.py", "--puzzles", "3", "--budgets", "40", "80", "--dev-puzzles", "3", "--judge", "solver",
               "--methods", "greedy", "best_of_n", "tot_bfs", "beam", "mcts_ensemble_dynamic", "oracle_judge_mcts",
               "--json", str(out), "--html", str(tmp_path / "sq.html"))
    page = (tmp_path / "sq.html").read_text()
    assert "mcts_ensemble_dynamic" in page and "<script" in page
    report = json.loads(out.read_text())
    assert report["puzzles"] == 3
    teachers = ["countdown-expert", "countdown-noisy", "countdown-format"]
    assert set(report["curves"]) == {*(f"greedy[{t}]" for t in teachers), *(f"best_of_n[{t}]" for t in teachers),
                                     "tot_bfs", "beam", "mcts_ensemble_dynamic", "oracle_judge_mcts"}
    for points in report["curves"].values():
        assert [p["budget"] for p in points] == [40, 80]
        for p in points:
            assert set(p) == {"budget", "solve_rate", "tokens", "calls", "judge_calls", "judge_tokens", "wall_s"}
            assert 0 <= p["solve_rate"] <= 1 and p["tokens"] > 0
    assert report["best_teacher"] in teachers and report["dev"]["puzzles"] == 3
    assert report["curves"]["tot_bfs"][0]["judge_calls"] > 0


def test_search_quality_on_the_complementary_set_has_the_oracle_mix_and_global_rows(tmp_path):
    out = tmp_path / "sq.json"
    run_script("search_quality.py", "--teacher-set", "complementary", "--puzzles", "3", "--budgets", "60", "--dev-puzzles", "3",
               "--judge", "solver", "--methods", "best_of_n", "mcts_single", "mcts_ensemble_uniform", "mcts_ensemble_global",
               "mcts_ensemble_dynamic", "--repeats", "2", "--json", str(out))
    report = json.loads(out.read_text())
    assert report["repeats"] == 2
    for points in report["curves"].values():  # two seeds per point: their mean, and each
        for p in points:
            assert len(p["solve_rates"]) == 2 and p["solve_rate"] == pytest.approx(sum(p["solve_rates"]) / 2)
    pair = ["countdown-opener", "countdown-closer"]
    assert report["teacher_set"] == "complementary" and report["teachers"] == pair
    assert set(report["curves"]) == {*(f"{f}[{t}]" for f in ("best_of_n", "mcts_single") for t in [*pair, "oracle_mix"]),
                                     "mcts_ensemble_uniform", "mcts_ensemble_global", "mcts_ensemble_dynamic"}
    weights = report["final_weights"]
    assert set(weights["mcts_ensemble_global"]) == {"global"}  # no contexts
    assert "0" in weights["mcts_ensemble_dynamic"] and set(weights["mcts_ensemble_dynamic"]["0"]) == set(pair)
    floors = report["ensemble_floors"]
    assert "dynamic > global > uniform at every budget" in floors
    assert any(k.startswith("oracle mix best-of-N") for k in floors)
