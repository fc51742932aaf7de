"""PPO: GAE against a hand-computed example, and a tiny real model trained with a value head."""

from __future__ import annotations

import json

import pytest
import torch

from mcts.train.advantages import gae
from mcts.train.ppo import PPOConfig, step_advantages, step_samples, train_ppo
from mcts.train.tree_data import record_from_row


def test_gae_matches_hand_computation():
    # delta_2 = 1 - .7 = .3; delta_1 = .9*.7 - .6 = .03; delta_0 = .9*.6 - .5 = .04; gamma*lam = .72
    adv, ret = gae([0.0, 0.0, 1.0], [0.5, 0.6, 0.7], gamma=0.9, lam=0.8)
    a2 = 0.3
    a1 = 0.03 + 0.72 * a2
    a0 = 0.04 + 0.72 * a1
    assert adv.tolist() == pytest.approx([a0, a1, a2], abs=1e-6)
    assert ret.tolist() == pytest.approx([a0 + 0.5, a1 + 0.6, a2 + 0.7], abs=1e-6)


def test_gae_with_lambda_one_is_monte_carlo_return_minus_value():
    adv, ret = gae([1.0, 0.0, 2.0], [0.3, 0.1, 0.4], gamma=0.5, lam=1.0, last_value=0.0)
    mc = [1 + 0.5 * 0 + 0.25 * 2, 0 + 0.5 * 2, 2.0]
    assert ret.tolist() == pytest.approx(mc, abs=1e-6)
    assert adv.tolist() == pytest.approx([m - v for m, v in zip(mc, [0.3, 0.1, 0.4])], abs=1e-6)


def test_gae_rejects_bad_arguments():
    with pytest.raises(ValueError, match="gamma"):
        gae([1.0], [0.0], gamma=1.5)
    with pytest.raises(ValueError, match="equal length"):
        gae([1.0, 2.0], [0.0])


def _row(task, prompt, steps, final):
    return {"task_id": task, "prompt": prompt, "final_reward": final, "solved": final > 0,
            "steps": [{"text": s, "tokens": len(s), "teachers": ["p"], "prior": 1.0, "visits": 1, "q": final,
                       "reward": 0.5, "reward_components": {}, "judge_shift": 0} for s in steps]}


def test_step_rewards_put_final_reward_on_last_step_and_gae_runs_per_path():
    records = [record_from_row(_row("t", "Q", ["a", "b"], 1.0)), record_from_row(_row("t", "Q", ["c"], 0.0))]
    config = PPOConfig(gamma=1.0, lam=1.0, intermediate_weight=0.0, whiten=False)
    samples = step_samples(records, config)
    assert [(s.completion.context, s.completion.text, s.reward) for s in samples] == [
        ("Q", "a", 0.0), ("Qa", "b", 1.0), ("Q", "c", 0.0)]
    adv, ret = step_advantages(samples, torch.zeros(3), config)
    assert ret.tolist() == [1.0, 1.0, 0.0]  # the second path's return does not leak into the first
    weighted = step_samples(records, PPOConfig(intermediate_weight=2.0))
    assert [s.reward for s in weighted] == [1.0, 2.0, 1.0]


@pytest.mark.slow
def test_ppo_trains_policy_and_value_head(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from tiny_gpt2 import build_tiny_gpt2, sequence_logprob

    policy = build_tiny_gpt2(tmp_path / "policy")
    run = tmp_path / "run"
    run.mkdir()
    rows = [_row("t", "2+3=", ["5"], 1.0), _row("t", "2+3=", ["7"], 0.0)] * 2
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    from mcts.train.loop import TrainSettings

    result = train_ppo(run, policy, out, PPOConfig(beta=0.01),
                       TrainSettings(learning_rate=3e-3, batch_size=4, epochs=6, device="cpu"), progress=False)
    assert result.steps == 6
    assert set(load_file(str(out / "value_head.safetensors"))) == {"linear.weight", "linear.bias"}
    model = AutoModelForCausalLM.from_pretrained(str(out))  # loads as a plain causal LM (a new teacher)
    assert model.config.n_embd == 128
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"loss", "policy_loss", "value_loss", "kl", "clip_fraction", "reward"} <= set(header)

    assert sequence_logprob(out, "2+3=", "5") > sequence_logprob(policy, "2+3=", "5") + 0.5
    assert sequence_logprob(out, "2+3=", "7") < sequence_logprob(policy, "2+3=", "7") - 0.5
