"""Value networks: data from trajectories, task-level splits, calibration numbers, learning, checkpoints."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from mcts.train.tree_data import record_from_row
from mcts.types import ScoredText, ValueFn
from mcts.tasks.countdown import Puzzle, format_prompt
from mcts.tasks.countdown_solver import generate_puzzles, puzzle_split
from mcts.tree import Tree
from value.calibration import (
    brier_score, calibration_report, expected_calibration_error, reliability_plot, roc_auc, spearman,
)
from value.collect import check_side, collect_trees
from value.countdown_truth import HeldOutLeakError, check_training_side, is_training_side, reachable, solver_metrics
from value.tree_values import tree_examples
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


# ---------------------------------------------------------------- training data from trees, held-out side kept out


def test_tree_examples_pool_visits_and_subtree_terminals():
    tree = Tree()
    sel = tree.select(1)  # the root, as the search does: expand, descend to a child, back up from it
    a, b = tree.expand([0, 0], [0.5, 0.5], actions=[" a", " b"])
    # below a: one solved and one failed terminal (as rollout chains leave them: never visited)
    tree.expand([a, a], [1.0, 1.0], rewards=[1.0, 0.0], terminal=[True, True], actions=[" win", " lose"])
    tree.descend(sel.leaves, [a])
    tree.backup([a], [0.5])
    examples = {e.steps: e for e in tree_examples(tree, "t", "[t]")}
    assert set(examples) == {(" a",), (" a", " win"), (" a", " lose")}  # b: no visit, no terminal: no label
    ea = examples[(" a",)]
    assert (ea.q, ea.visits, ea.terminals, ea.mc_return, ea.outcome) == (0.5, 1, 2, 0.5, 0.5)
    win = examples[(" a", " win")]
    assert (win.visits, win.terminals, win.mc_return, win.q, win.outcome) == (0, 1, 1.0, 1.0, 1.0)
    assert ea.target("mix") == pytest.approx((1 * 0.5 + 2 * 0.5) / 3)
    assert win.target("mix") == 1.0 and win.text == "[t] a win"


def test_training_data_never_holds_a_held_out_number_set():
    train = generate_puzzles(60, seed=3, split="train")
    held = generate_puzzles(5, seed=3, split="heldout")
    check_side(train, "train")
    check_training_side([format_prompt(p) for p in train])
    with pytest.raises(HeldOutLeakError):
        check_side([*train[:3], held[0]], "train")
    with pytest.raises(HeldOutLeakError):  # refused before any search runs (no teachers needed)
        collect_trees("/nonexistent", [held[0]], teachers=(), side="train")
    with pytest.raises(HeldOutLeakError, match="held-out side"):
        check_training_side([format_prompt(train[0]), format_prompt(held[1])])
    # another target does not smuggle a held-out Game-of-24 number set in
    other = next(t for t in range(1, 100) if t != 24 and puzzle_split(held[0].numbers, t) == "train")
    assert not is_training_side(held[0].numbers, other)
    with pytest.raises(HeldOutLeakError):
        check_training_side([format_prompt(Puzzle("x", held[0].numbers, other))])
    with pytest.raises(ValueError, match="held-out side"):
        check_side(train[:1], "heldout")


def test_solver_truth_and_ranking_metrics_on_known_states():
    prompt = "Numbers: 4 7 8 8\nTarget: 24\n"
    assert reachable(prompt, [])
    assert reachable(prompt, ["8-4=4 (left: 7 8 4)\n"])  # 7-4=3, 8*3=24
    assert not reachable(prompt, ["8+8=17 (left: 4 7 17)\n"])  # wrong arithmetic
    assert not reachable(prompt, ["4+7=11 (left: 8 8 11)\n", "8+8=16 (left: 11 16)\n"])  # 11, 16 cannot make 24
    assert reachable(prompt, ["8-4=4 (left: 7 8 4)\n", "7-4=3 (left: 8 3)\n", "8*3=24 (left: 24)\n"])
    # AUC: positives score .9 and .2, negatives .3 and .1 -> 3 of 4 pairs ordered right
    assert roc_auc([0.9, 0.2, 0.3, 0.1], [1, 1, 0, 0]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)  # a tie counts one half
    assert math.isnan(roc_auc([0.1, 0.2], [1, 1]))
    m = solver_metrics([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
    assert (m.n, m.positive_rate, m.auc) == (4, 0.5, 1.0)
    # ranks (4, 3, 2, 1) vs labels (1, 1, 0, 0) -> label ranks (3.5, 3.5, 1.5, 1.5): Pearson = 2 / sqrt(5)
    assert m.spearman == pytest.approx(2 / math.sqrt(5))
    with pytest.raises(ValueError, match="0 or 1"):
        roc_auc([0.1, 0.2], [0.5, 1])


@pytest.mark.slow
def test_end_to_end_collect_train_evaluate_on_held_out_trees(tmp_path):
    import torch

    from mcts.run.config import RunConfig
    from mcts.run.setup import build_teachers
    from value.collect import load_tree_examples

    torch.manual_seed(0)
    teachers = build_teachers(RunConfig(teachers=("hf:countdown-expert", "hf:countdown-noisy"), device="cpu"))
    try:
        collect_trees(tmp_path / "train", generate_puzzles(4, seed=1, split="train"), teachers, side="train", simulations=8)
        collect_trees(tmp_path / "held", generate_puzzles(2, seed=1, split="heldout"), teachers, side="heldout", simulations=8)
    finally:
        for t in teachers:
            t.close()
    train, held = load_tree_examples(tmp_path / "train"), load_tree_examples(tmp_path / "held")
    assert train and held and all(e.visits + e.terminals >= 1 for e in train)
    check_training_side([e.prompt for e in train])
    assert {e.task_id.split("/")[0] for e in held} == {"held"}
    net = build_value_net(ValueNetConfig(kind="tiny", d_model=32, n_layer=1, n_head=2, max_length=96))
    history = train_value(net, train, target="mix", epochs=2, weight_by_visits=True, device="cpu")
    assert len(history) == 2 and math.isfinite(history[-1]["train_mse"])
    m = solver_metrics(net.predict([e.text for e in held]), [reachable(e.prompt, e.steps) for e in held])
    assert m.n == len(held) and 0.0 <= m.positive_rate <= 1.0
    assert math.isnan(m.auc) or 0.0 <= m.auc <= 1.0
    report = evaluate_value(net, held, target="mix", plot_path=tmp_path / "rel.png")
    assert report.n == len(held) and (tmp_path / "rel.png").stat().st_size > 0
