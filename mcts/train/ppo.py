"""PPO on logged paths: a value head on the policy, GAE over steps, the same clip and k3 KL as GRPO.

Each step of a path is one action: the state is ``prompt + earlier steps``, the action is the step's
tokens. Rewards per step: ``intermediate_weight * step.reward``, plus the path's ``final_reward``
on its last step. The value head (one linear layer) reads the policy's last hidden state at the
last state token; its targets are the GAE returns (Schulman et al. 2016, arXiv 1506.02438). The KL
to the reference is a k3 penalty in the loss (as in GRPO), not a per-token reward as in TRL's PPO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from mcts.train.advantages import gae
from mcts.train.grpo import clipped_token_loss, masked_sample_mean, masked_token_mean
from mcts.train.loop import HEAD_FILE, Rollout, TrainResult, TrainSettings, settings_dict, train_policy
from mcts.train.policy import Completion, TokenBatch
from mcts.train.tree_data import PathRecord, load_records


class ValueHead(torch.nn.Module):
    """V(state) = w . h + b on the policy's last hidden state ``h`` (shape ``(..., H)`` -> ``(..., 1)``)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.normal_(self.linear.weight, std=1.0 / (hidden_size + 1))
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden)


@dataclass
class PPOConfig:
    """What PPO optimises; ``TrainSettings`` holds how. ``gamma``/``lam``: GAE discount and trace."""

    gamma: float = 1.0
    lam: float = 0.95
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    beta: float = 0.04
    vf_coef: float = 0.5
    value_clip: float = 0.2
    intermediate_weight: float = 0.0
    whiten: bool = True
    policy_teachers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise ValueError(f"gamma and lam must lie in [0, 1], got {self.gamma}, {self.lam}")
        if self.beta < 0 or self.vf_coef < 0 or self.value_clip <= 0:
            raise ValueError(f"need beta >= 0, vf_coef >= 0, value_clip > 0; got {self.beta}, {self.vf_coef}, {self.value_clip}")


@dataclass(frozen=True)
class StepSample:
    completion: Completion
    path: int
    reward: float


def step_samples(records: Sequence[PathRecord], config: PPOConfig) -> list[StepSample]:
    """One sample per step of every path, in path order (GAE needs a path's steps together)."""
    samples = []
    for p, record in enumerate(records):
        traj = record.trajectory
        for t, step in enumerate(traj.steps):
            context = traj.prompt + "".join(s.text for s in traj.steps[:t])
            trains = config.policy_teachers is None or any(x in config.policy_teachers for x in step.teachers)
            reward = config.intermediate_weight * step.reward + (traj.final_reward if t == len(traj.steps) - 1 else 0.0)
            samples.append(StepSample(Completion(context, ((step.text, trains),)), p, reward))
    return samples


def step_advantages(samples: Sequence[StepSample], values: torch.Tensor, config: PPOConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE per path (terminal value 0), optionally whitened over all steps: ``(advantages, returns)``."""
    advantages = torch.zeros(len(samples))
    returns = torch.zeros(len(samples))
    by_path: dict[int, list[int]] = {}
    for i, s in enumerate(samples):
        by_path.setdefault(s.path, []).append(i)
    for indices in by_path.values():
        adv, ret = gae([samples[i].reward for i in indices], values[indices], gamma=config.gamma, lam=config.lam)
        advantages[indices] = adv
        returns[indices] = ret
    if config.whiten and len(samples) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages, returns


def train_ppo(
    run: str | Path | Sequence[PathRecord],
    policy: str | Path,
    out_dir: str | Path,
    config: PPOConfig | None = None,
    settings: TrainSettings | None = None,
    *,
    reference: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """One PPO update of ``policy`` on a run's paths; same checkpoint layout as :func:`train_grpo`
    plus ``value_head.safetensors`` (the policy dir still loads with ``from_pretrained``)."""
    config = config or PPOConfig()
    settings = settings or TrainSettings()
    records = load_records(run) if isinstance(run, (str, Path)) else list(run)
    samples = step_samples(records, config)

    def prepare(rollout: Rollout, values: torch.Tensor | None) -> Rollout:
        assert values is not None  # train_policy scores with the head when make_head is given
        advantages, returns = step_advantages(samples, values, config)
        rollout.scalars.update(advantage=advantages, returns=returns, value=values)
        return rollout

    def loss_fn(logps, values, batch: TokenBatch, indices: list[int], rollout: Rollout):
        device = logps.device
        old, ref = rollout.token_rows(indices, logps.shape[1], device)
        adv = rollout.scalars["advantage"][indices].to(device)
        per_token, kl, clipped = clipped_token_loss(
            logps, old, ref, adv, epsilon_low=config.epsilon_low, epsilon_high=config.epsilon_high, beta=config.beta
        )
        policy_loss = masked_sample_mean(per_token, batch.loss_mask)
        old_values = rollout.scalars["value"][indices].to(device)
        targets = rollout.scalars["returns"][indices].to(device)
        clipped_values = old_values + (values - old_values).clamp(-config.value_clip, config.value_clip)
        value_loss = 0.5 * torch.max((values - targets) ** 2, (clipped_values - targets) ** 2).mean()
        stats = {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "kl": float(masked_token_mean(kl.detach(), batch.loss_mask)),
            "clip_fraction": float(masked_token_mean(clipped, batch.loss_mask)),
        }
        return policy_loss + config.vf_coef * value_loss, stats

    return train_policy(
        algo="ppo", policy=policy, out_dir=out_dir, completions=[s.completion for s in samples],
        rewards=torch.tensor([s.reward for s in samples], dtype=torch.float32), settings=settings,
        loss_fn=loss_fn, prepare=prepare, config=settings_dict(config, settings), reference=reference,
        make_head=ValueHead, progress=progress,
    )


__all__ = ["HEAD_FILE", "PPOConfig", "ValueHead", "step_advantages", "step_samples", "train_ppo"]
