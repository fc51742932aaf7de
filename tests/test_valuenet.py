"""Value networks: data from trajectories, task-level splits, calibration numbers, learning, checkpoints."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from mcts.train.tree_data import record_from_row
from mcts.types import ScoredText, ValueFn
from value.calibration import brier_score, calibration_report, expected_calibration_error, reliability_plot, spearman
from value.value_data import ValueExample, load_value_examples, split_by_task, value_examples
from value.valuenet import ValueNet, ValueNetConfig, ValueNetFn, build_value_net, evaluate_value, train_value


def _row(task, steps, node_ids, final, solved):
    return {"task_id": task, "prompt": f"[{task}]", "final_reward": final, "solved": solved, "node_ids": node_ids,
            "steps": [{"text": t, "tokens": 1, "teachers": ["p"], "prior": 0.5, "visits": v, "q": q, "reward": 0.0,
                       "reward_components": {}, "judge_shift": 0} for t, v, q in steps]}


# ---------------------------------------------------------------- data and splits


def test_examples_are_distinct_nodes_with_monte_carlo_outcomes(tmp_path):
    rows = [_row("a", [(" x", 3, 0.6), (" y", 1, 1.0)], [1, 2], 1.0, True),
            _row("a", [(" x", 3, 0.6), (" z", 1, 0.0)], [1, 3], 0.0, False)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = load_value_examples(run)
    by_text = {e.text: e for e in examples}
    assert set(by_text) == {"[a] x", "[a] x y", "[a] x z"}  # the shared step " x" appears once
    shared = by_text["[a] x"]
    assert (shared.q, shared.visits, shared.outcome, shared.mc_return) == (0.6, 3, 0.5, 0.5)
    assert by_text["[a] x y"].outcome == 1.0 and by_text["[a] x z"].outcome == 0.0
    assert len(load_value_examples(run, min_visits=2)) == 1


def test_split_by_task_never_leaks_a_task_across_sides():
    rows = []
    for t in range(20):
        for k in range(3):
            rows.append(_row(f"task{t}", [(f" s{k}", 2, 0.5), (f" e{k}", 1, k / 2)], [1 + k, 10 + k], 0.0, False))
    examples = value_examples([record_from_row(r) for r in rows])
    train, held = split_by_task(examples, held_out=0.25, seed=7)
    train_tasks, held_tasks = {e.task_id for e in train}, {e.task_id for e in held}
    assert not train_tasks & held_tasks
    assert len(held_tasks) == 5 and len(train) + len(held) == len(examples)
    assert split_by_task(examples, 0.25, seed=7) == (train, held)  # deterministic
    assert {e.task_id for e in split_by_task(examples, 0.25, seed=8)[1]} != held_tasks  # the seed matters
    with pytest.raises(ValueError, match="held_out"):
        split_by_task(examples, held_out=1.0)


def test_two_tasks_still_hold_one_out():
    ex = [ValueExample(t, "", ("s",), 0.5, 1, 0.0, 0.0) for t in ("a", "b")]
    train, held = split_by_task(ex, held_out=0.1)
    assert len(train) == 1 and len(held) == 1


# ---------------------------------------------------------------- calibration on known inputs


def test_calibration_metrics_on_known_inputs():
    pred = [0.05, 0.15, 0.85, 0.95]
    outcome = [0.0, 1.0, 1.0, 1.0]
    # bins of width .5: [.05,.15] mean .1 vs outcome .5 -> .4; [.85,.95] mean .9 vs 1 -> .1; ECE = .5*.4+.5*.1
    assert expected_calibration_error(pred, outcome, n_bins=2) == pytest.approx(0.25)
    assert brier_score(pred, outcome) == pytest.approx((0.05**2 + 0.85**2 + 0.15**2 + 0.05**2) / 4)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties: ranks of y are 1.5, 1.5, 3 -> Pearson of (1,2,3) with (1.5,1.5,3) = sqrt(3)/2
    assert spearman([1, 2, 3], [5, 5, 9]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    report = calibration_report(pred, [0.0, 0.0, 1.0, 1.0], outcome, [0, 1, 2, 3], n_bins=2)
    assert report.mse == pytest.approx((0.05**2 + 0.15**2 + 0.15**2 + 0.05**2) / 4)
    assert report.ece == pytest.approx(0.25) and report.spearman == pytest.approx(1.0) and report.n == 4


def test_perfectly_calibrated_predictions_have_near_zero_ece():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=20000) < p).astype(float)
    assert expected_calibration_error(p, y) < 0.02
    assert expected_calibration_error(np.full_like(p, 0.9), y) > 0.3


def test_calibration_rejects_outcomes_outside_unit_interval(tmp_path):
    with pytest.raises(ValueError, match=r"outcomes must lie in \[0, 1\]"):
        brier_score([0.5], [2.0])
    path = reliability_plot([0.1, 0.8, 0.9], [0, 1, 1], tmp_path / "rel.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- learning and checkpoints


def _toy_examples(n_tasks=40, seed=0):
    """Partial texts whose value is 1 when they contain 'good', else 0 (separable by content)."""
    rng = random.Random(seed)
    out = []
    for t in range(n_tasks):
        for label in (0, 1):
            noise = "".join(rng.choice("abcdefxyz ") for _ in range(rng.randint(3, 12)))
            word = "good" if label else "bad!"
            out.append(ValueExample(f"t{t}", f"Q{t}:", (noise, f" {word}"), float(label), 2, float(label), float(label)))
    return out


@pytest.mark.slow
def test_tiny_value_net_learns_separable_signal_and_round_trips(tmp_path):
    import torch

    torch.manual_seed(0)
    train, held = split_by_task(_toy_examples(), held_out=0.25, seed=0)
    net = build_value_net(ValueNetConfig(kind="tiny", d_model=32, n_layer=1, n_head=2, max_length=64))
    history = train_value(net, train, held_out=held, epochs=12, learning_rate=3e-3, batch_size=16, device="cpu")
    assert history[-1]["train_mse"] < history[0]["train_mse"]
    report = evaluate_value(net, held, plot_path=tmp_path / "reliability.png")
    assert report.mse < 0.05 and report.spearman > 0.8
    assert (tmp_path / "reliability.png").stat().st_size > 0

    net.save(tmp_path / "vn")
    assert json.loads((tmp_path / "vn" / "value_config.json").read_text())["kind"] == "tiny"
    loaded = ValueNet.load(tmp_path / "vn")
    texts = [e.text for e in held]
    assert loaded.predict(texts) == pytest.approx(net.predict(texts), abs=1e-6)

    fn = ValueNetFn(loaded)
    assert isinstance(fn, ValueFn)
    good, bad = fn.value([ScoredText("Q0:", ("xx", " good")), ScoredText("Q0:", ("xx", " bad!"))])
    assert good > 0.5 > bad


def test_sigmoid_net_refuses_targets_outside_unit_interval():
    net = build_value_net(ValueNetConfig(d_model=16, n_layer=1, n_head=2, max_length=16))
    ex = [ValueExample("t", "", ("s",), 3.0, 1, 1.0, 3.0)]
    with pytest.raises(ValueError, match="output='linear'"):
        train_value(net, ex, epochs=1, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [True, False])
def test_causal_lm_value_net_trains_and_round_trips(tmp_path, freeze):
    import torch

    from tiny_gpt2 import build_tiny_gpt2

    torch.manual_seed(0)
    backbone = build_tiny_gpt2(tmp_path / "lm", n_layer=1)
    examples = _toy_examples(n_tasks=12)
    net = build_value_net(ValueNetConfig(kind="causal_lm", backbone=str(backbone), freeze_backbone=freeze,
                                         output="linear", max_length=64))
    before = [p.detach().clone() for p in net.backbone.parameters()]
    history = train_value(net, examples, epochs=4, learning_rate=1e-2, batch_size=8, device="cpu")
    assert history[-1]["train_mse"] < history[0]["train_mse"]
    changed = any(not torch.equal(a, b) for a, b in zip(before, net.backbone.parameters()))
    assert changed is (not freeze)
    net.save(tmp_path / "vn")
    loaded = ValueNet.load(tmp_path / "vn")
    texts = [e.text for e in examples[:6]]
    assert loaded.predict(texts) == pytest.approx(net.predict(texts), abs=1e-5)
