"""GRPO: advantages by hand, the loss against TRL's GRPOTrainer on identical tensors, and a real
(tiny) model whose rewarded completions must gain probability."""

from __future__ import annotations

import json
import math
import types
from collections import defaultdict

import pytest
import torch

from mcts.train.advantages import group_advantages
from mcts.train.grpo import GRPOConfig, grouped_samples, grpo_loss, k3_kl, train_grpo
from mcts.train.loop import TrainSettings
from mcts.train.tree_data import load_records


# ---------------------------------------------------------------- advantages by hand


def test_group_advantages_match_hand_computation():
    # group a: rewards 1, 0, 0 -> mean 1/3, unbiased std sqrt(1/3); group b: 2, 4 -> mean 3, std sqrt(2)
    rewards = [1.0, 2.0, 0.0, 4.0, 0.0]
    groups = ["a", "b", "a", "b", "a"]
    adv = group_advantages(rewards, groups)
    sa, sb = math.sqrt(1 / 3), math.sqrt(2)
    expected = [(2 / 3) / (sa + 1e-4), -1 / (sb + 1e-4), (-1 / 3) / (sa + 1e-4), 1 / (sb + 1e-4), (-1 / 3) / (sa + 1e-4)]
    assert adv.tolist() == pytest.approx(expected, abs=1e-6)
    assert group_advantages(rewards, groups, scale="none").tolist() == pytest.approx([2 / 3, -1, -1 / 3, 1, -1 / 3])


def test_singleton_and_constant_groups_get_zero_advantage():
    adv = group_advantages([5.0, 1.0, 1.0], ["solo", "same", "same"])
    assert adv.tolist() == [0.0, 0.0, 0.0]


def test_group_advantages_reject_bad_input():
    with pytest.raises(ValueError, match="one group label each"):
        group_advantages([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="scale"):
        group_advantages([1.0], ["a"], scale="token")


def test_group_advantages_match_trl_normalisation():
    from trl.trainer.utils import nanstd

    rewards = torch.rand(4 * 6, generator=torch.Generator().manual_seed(0))
    groups = [i // 6 for i in range(24)]  # TRL's layout: num_generations consecutive rows per prompt
    grouped = rewards.view(-1, 6)
    mean = grouped.mean(dim=1).repeat_interleave(6)
    std = nanstd(grouped, dim=1).repeat_interleave(6)
    trl_adv = (rewards - mean) / (std + 1e-4)
    assert torch.allclose(group_advantages(rewards, groups), trl_adv, atol=1e-6)


# ---------------------------------------------------------------- loss vs TRL


def _trl_loss(logps, old, ref, advantages, mask, *, beta, eps_low, eps_high):
    """Calls TRL's GRPOTrainer._compute_loss with a minimal stand-in for the trainer, whose
    log-prob method returns our tensors: the loss and metrics are TRL's own code."""
    from trl.trainer.grpo_trainer import GRPOTrainer

    class _Accel:
        num_processes = 1
        sync_gradients = True

        def gather(self, t):
            return t

        gather_for_metrics = gather

        def reduce(self, t, reduction="sum"):
            return t

    trainer = types.SimpleNamespace(
        _get_per_token_logps_and_entropies=lambda *a, **k: (logps, torch.zeros_like(logps), None),
        top_entropy_quantile=1.0, off_policy_mask_threshold=None, importance_sampling_level="token",
        beta=beta, loss_type="grpo", epsilon_low=eps_low, epsilon_high=eps_high, use_vllm=False,
        args=types.SimpleNamespace(use_bias_correction_kl=False, delta=None), aux_loss_enabled=False,
        _entropy_bonus_enabled=False, current_gradient_accumulation_steps=1, accelerator=_Accel(),
        model=types.SimpleNamespace(training=True), _metrics={"train": defaultdict(list)},
    )
    b, t = logps.shape
    inputs = {
        "prompt_ids": torch.zeros((b, 1), dtype=torch.long), "prompt_mask": torch.ones((b, 1), dtype=torch.long),
        "completion_ids": torch.zeros((b, t), dtype=torch.long), "completion_mask": mask,
        "advantages": advantages, "old_per_token_logps": old, "ref_per_token_logps": ref,
    }
    loss = GRPOTrainer._compute_loss(trainer, None, inputs)
    return loss, trainer._metrics["train"]


@pytest.mark.parametrize("beta", [0.0, 0.04, 0.5])
def test_grpo_loss_matches_trl_on_random_tensors(beta):
    g = torch.Generator().manual_seed(int(beta * 100))
    b, t = 6, 9
    old = -torch.rand((b, t), generator=g, dtype=torch.float64) * 3
    logps = (old + torch.randn((b, t), generator=g, dtype=torch.float64) * 0.3).requires_grad_()
    ref = old + torch.randn((b, t), generator=g, dtype=torch.float64) * 0.2
    advantages = torch.randn(b, generator=g, dtype=torch.float64)
    mask = (torch.rand((b, t), generator=g) > 0.3).to(torch.float64)
    mask[0] = 0  # a sample without policy tokens
    ours, stats = grpo_loss(logps, old, ref, advantages, mask, epsilon_low=0.2, epsilon_high=0.28, beta=beta)
    theirs, metrics = _trl_loss(logps, old, ref, advantages, mask, beta=beta, eps_low=0.2, eps_high=0.28)
    assert float(ours) == pytest.approx(float(theirs), abs=1e-6)
    (g_ours,) = torch.autograd.grad(ours, logps)
    (g_theirs,) = torch.autograd.grad(theirs, logps)
    assert torch.allclose(g_ours, g_theirs, atol=1e-6)
    assert stats["clip_fraction"] == pytest.approx(metrics["clip_ratio/region_mean"][0], abs=1e-6)
    assert 0 < stats["clip_fraction"] < 1  # the clip was exercised
    if beta:
        assert stats["kl"] == pytest.approx(metrics["kl"][0], abs=1e-6)


def test_k3_is_nonnegative_and_zero_at_equality():
    x = torch.randn(100)
    assert torch.all(k3_kl(x, x + torch.randn(100)) >= 0)
    assert torch.all(k3_kl(x, x) == 0)


# ---------------------------------------------------------------- tree data -> samples


def _row(task, steps, node_ids, parent_ids, final, prompt="Q:"):
    return {
        "task_id": task, "prompt": prompt, "final_reward": final, "solved": final > 0,
        "steps": [{"text": text, "tokens": len(text), "teachers": [teacher], "prior": 0.5, "visits": visits,
                   "q": q, "reward": 0.0, "reward_components": {}, "judge_shift": 0}
                  for text, teacher, visits, q in steps],
        "node_ids": node_ids, "parent_ids": parent_ids,
    }


def _write_run(tmp_path, rows):
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_sibling_groups_from_node_ids(tmp_path):
    rows = [
        _row("t1", [("A", "p", 4, 0.5), ("x", "p", 2, 1.0)], [1, 3], [0, 1], 1.0),
        _row("t1", [("A", "p", 4, 0.5), ("y", "other", 2, 0.0)], [1, 4], [0, 1], 0.0),
        _row("t1", [("B", "p", 3, 0.2), ("z", "p", 3, 0.2)], [2, 5], [0, 2], 0.0),
    ]
    records = load_records(_write_run(tmp_path, rows))
    samples = grouped_samples(records, group_by="siblings", scale="none")
    by_text = {s.completion.text: s for s in samples}
    # root's children A (q .5) and B (q .2); A's children x (1) and y (0); z is an only child
    assert set(by_text) == {"A", "B", "x", "y"}
    assert by_text["x"].completion.context == "Q:A" and by_text["x"].advantage == pytest.approx(0.5)
    assert by_text["A"].advantage == pytest.approx(0.15)
    only_policy = grouped_samples(records, policy_teachers=("p",), scale="none")
    assert "y" not in {s.completion.text for s in only_policy}  # written by another teacher
    scaled = {s.completion.text: s.advantage for s in grouped_samples(records, scale="none", negative_weight=0.5)}
    assert scaled["y"] == pytest.approx(-0.25) and scaled["x"] == pytest.approx(0.5)
    winners = grouped_samples(records, scale="none", negative_weight=0.0)
    assert {s.completion.text for s in winners} == {"A", "x"}  # the losers leave rather than weigh 0


def test_prompt_groups_mask_other_teachers(tmp_path):
    rows = [
        _row("t1", [("A", "p", 1, 0.0), ("x", "other", 1, 0.0)], [1, 2], [0, 1], 1.0),
        _row("t1", [("B", "p", 1, 0.0)], [3], [0], 0.0),
    ]
    samples = grouped_samples(load_records(_write_run(tmp_path, rows)), group_by="prompt", policy_teachers=("p",))
    first = next(s for s in samples if s.reward == 1.0)
    assert first.completion.segments == (("A", True), ("x", False))


def test_truncated_last_line_is_skipped_but_bad_middle_line_is_an_error(tmp_path):
    run = _write_run(tmp_path, [_row("t", [("A", "p", 1, 0.0)], [1], [0], 0.0)])
    path = run / "trajectories.jsonl"
    path.write_text(path.read_text() + '{"task_id": "t", "pro')
    assert len(load_records(run)) == 1
    path.write_text('{"broken\n' + path.read_text())
    with pytest.raises(ValueError, match="trajectories.jsonl:1"):
        load_records(run)


# ---------------------------------------------------------------- a real (tiny) model learns


@pytest.mark.slow
def test_grpo_steps_raise_logprob_of_rewarded_sibling(tmp_path):
    from tiny_gpt2 import build_tiny_gpt2, sequence_logprob

    policy = build_tiny_gpt2(tmp_path / "policy")
    rows = []
    for k, prompt in enumerate(["2+3=", "4+1=", "1+4="]):
        rows.append(_row(f"t{k}", [("5", "p", 3, 1.0)], [1], [0], 1.0, prompt=prompt))
        rows.append(_row(f"t{k}", [("7", "p", 3, 0.0)], [2], [0], 0.0, prompt=prompt))
    run = _write_run(tmp_path, rows)
    before = {c: sequence_logprob(policy, "2+3=", c) for c in ("5", "7")}
    out = tmp_path / "out"
    result = train_grpo(run, policy, out, GRPOConfig(beta=0.01),
                        TrainSettings(learning_rate=3e-3, batch_size=6, epochs=6, seed=1, device="cpu"), progress=False)
    after = {c: sequence_logprob(out, "2+3=", c) for c in ("5", "7")}
    assert after["5"] > before["5"] + 0.5
    assert after["7"] < before["7"] - 0.5
    assert result.steps == 6 and result.samples == 6
    assert (out / "model.safetensors").is_file() and (out / "metrics.png").stat().st_size > 0
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"loss", "kl", "clip_fraction", "reward"} <= set(header)
    assert result.final_metrics["kl"] > 0  # it moved away from the reference, and says by how much


@pytest.mark.slow
def test_grpo_resumes_where_it_stopped(tmp_path):
    from safetensors.torch import load_file

    from tiny_gpt2 import build_tiny_gpt2

    policy = build_tiny_gpt2(tmp_path / "policy")
    rows = [_row("t", [("5", "p", 3, 1.0)], [1], [0], 1.0, "2+3="), _row("t", [("7", "p", 3, 0.0)], [2], [0], 0.0, "2+3="),
            _row("u", [("1", "p", 3, 1.0)], [1], [0], 1.0, "0+1="), _row("u", [("9", "p", 3, 0.0)], [2], [0], 0.0, "0+1=")]
    run = _write_run(tmp_path, rows)
    settings = dict(learning_rate=1e-3, batch_size=2, seed=3, device="cpu")
    full = train_grpo(run, policy, tmp_path / "full", settings=TrainSettings(epochs=2, **settings), progress=False)
    train_grpo(run, policy, tmp_path / "part", settings=TrainSettings(epochs=1, **settings), progress=False)
    resumed = train_grpo(run, policy, tmp_path / "part", settings=TrainSettings(epochs=2, **settings), progress=False)
    assert resumed.steps == full.steps == 4
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert len((tmp_path / "part" / "metrics.csv").read_text().splitlines()) == 1 + 4


@pytest.mark.slow
def test_negative_weight_scales_only_the_losers_advantages(tmp_path):
    from mcts.train.loop import ROLLOUT_FILE, Rollout
    from tiny_gpt2 import build_tiny_gpt2

    policy = build_tiny_gpt2(tmp_path / "policy")
    rows = [_row("t", [("5", "p", 3, 1.0)], [1], [0], 1.0, "2+3="), _row("t", [("7", "p", 3, 0.0)], [2], [0], 0.0, "2+3="),
            _row("t", [("6", "p", 3, 0.0)], [3], [0], 0.0, "2+3=")]
    run = _write_run(tmp_path, rows)
    settings = TrainSettings(learning_rate=1e-3, batch_size=3, seed=0, device="cpu")
    advantages = {}
    for weight in (1.0, 0.25):
        train_grpo(run, policy, tmp_path / str(weight), GRPOConfig(negative_weight=weight), settings, progress=False)
        advantages[weight] = Rollout.load(tmp_path / str(weight) / ROLLOUT_FILE).scalars["advantage"]
    full, scaled = advantages[1.0], advantages[0.25]
    assert (full > 0).sum() == 1 and (full < 0).sum() == 2
    assert torch.equal(scaled[full > 0], full[full > 0])
    assert torch.allclose(scaled[full < 0], 0.25 * full[full < 0])
    winners_only = train_grpo(run, policy, tmp_path / "0", GRPOConfig(negative_weight=0.0), settings, progress=False)
    kept = Rollout.load(tmp_path / "0" / ROLLOUT_FILE).scalars["advantage"]
    assert winners_only.samples == 1 and torch.equal(kept, full[full > 0])
    with pytest.raises(ValueError, match="negative_weight"):
        GRPOConfig(negative_weight=1.5)
