"""GRPO on tree data (Shao et al. 2024, arXiv 2402.03300; step-level groups as in TreeRPO, arXiv 2506.05183).

Objective per policy token ``t`` of sample ``i`` with advantage ``A_i``::

    ratio  = exp(logp - logp_old)
    loss_t = -min(ratio * A_i, clip(ratio, 1 - eps_low, 1 + eps_high) * A_i) + beta * KL_t
    KL_t   = exp(ref - logp) - (ref - logp) - 1          # k3 estimator (Schulman, "Approximating KL")

averaged over each sample's policy tokens, then over samples — the ``loss_type="grpo"`` reduction of
TRL's ``GRPOTrainer`` (tests/test_grpo.py checks both against TRL on identical tensors). k3 is
unbiased for KL(pi || ref) under samples from pi and always >= 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from mcts.train.advantages import Scale, group_advantages
from mcts.train.loop import Rollout, TrainResult, TrainSettings, settings_dict, train_policy
from mcts.train.policy import Completion, TokenBatch
from mcts.train.tree_data import PathRecord, collect_nodes, load_records, sibling_groups
from mcts.types import Step


def k3_kl(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi || ref): ``exp(ref - logp) - (ref - logp) - 1`` (>= 0)."""
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1


def clipped_token_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    ref_logps: torch.Tensor | None,
    advantages: torch.Tensor,
    *,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
    beta: float = 0.04,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token clipped-ratio loss plus ``beta`` * k3 KL, all shape ``(B, T)``.

    ``advantages`` is ``(B,)`` (one per sample) or ``(B, T)`` (one per token, as PPO's per-step
    advantages). Returns ``(loss, kl, clipped)``; ``clipped`` is 1 where the clip took the gradient
    away (ratio below ``1 - eps_low`` with A < 0, or above ``1 + eps_high`` with A > 0).
    """
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    ratio = torch.exp(logps - old_logps)
    clipped_ratio = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    loss = -torch.min(ratio * adv, clipped_ratio * adv)
    kl = k3_kl(logps, ref_logps) if ref_logps is not None else torch.zeros_like(logps)
    if beta != 0.0:
        loss = loss + beta * kl
    clipped = ((ratio < 1 - epsilon_low) & (adv < 0)) | ((ratio > 1 + epsilon_high) & (adv > 0))
    return loss, kl, clipped.to(logps.dtype)


def masked_sample_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over each row's masked tokens, then over rows (a row without tokens counts as 0)."""
    return ((values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()


def masked_token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def grpo_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    ref_logps: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
    beta: float = 0.04,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The GRPO loss of one batch (tensors ``(B, T)``, ``advantages`` ``(B,)``, ``mask`` 1 on policy
    tokens) and its metrics: ``kl`` and ``clip_fraction`` (token means over the mask)."""
    per_token, kl, clipped = clipped_token_loss(
        logps, old_logps, ref_logps, advantages, epsilon_low=epsilon_low, epsilon_high=epsilon_high, beta=beta
    )
    loss = masked_sample_mean(per_token, mask)
    stats = {
        "kl": float(masked_token_mean(kl.detach(), mask)),
        "clip_fraction": float(masked_token_mean(clipped, mask)),
    }
    return loss, stats


# --------------------------------------------------------------------------------------------
# Samples from tree data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupedSample:
    """One training sample: what to score, its reward, its group and its advantage."""

    completion: Completion
    reward: float
    group: tuple
    advantage: float


def _trains(step: Step, policy_teachers: Sequence[str] | None) -> bool:
    return policy_teachers is None or any(t in policy_teachers for t in step.teachers)


def grouped_samples(
    records: Sequence[PathRecord],
    *,
    group_by: Literal["siblings", "prompt"] = "siblings",
    reward: Literal["q", "mc_return"] = "q",
    scale: Scale = "group",
    min_visits: int = 1,
    policy_teachers: Sequence[str] | None = None,
    negative_weight: float = 1.0,
    keep_zero_advantage: bool = False,
) -> list[GroupedSample]:
    """GRPO samples from logged paths, with group-normalised advantages.

    ``group_by="siblings"``: each child of a node is a sample (context = prompt + shared prefix,
    completion = the step), rewarded by its backed-up ``q`` (or the Monte-Carlo mean of the logged
    paths through it, ``reward="mc_return"``); children with fewer than ``min_visits`` are left
    out. ``group_by="prompt"``: each logged path is a sample rewarded by ``final_reward``, grouped
    by task. Only steps written by one of ``policy_teachers`` carry loss (all when ``None``).
    Negative advantages are multiplied by ``negative_weight`` (``GRPOConfig``). Samples with no
    trainable token or (unless ``keep_zero_advantage``) a zero advantage are dropped — with
    ``negative_weight = 0`` that is every loser: it would carry no policy gradient, only KL, yet fill
    most of every batch (about four in five siblings lose on countdown).
    """
    if group_by not in ("siblings", "prompt"):
        raise ValueError(f"group_by must be 'siblings' or 'prompt', got {group_by!r}")
    if reward not in ("q", "mc_return"):
        raise ValueError(f"reward must be 'q' or 'mc_return', got {reward!r}")
    items: list[tuple[Completion, float, tuple]] = []
    if group_by == "siblings":
        nodes = [n for n in collect_nodes(records) if n.step.visits >= min_visits]
        for group in sibling_groups(nodes):
            for node in group:
                completion = Completion(node.context, ((node.step.text, _trains(node.step, policy_teachers)),))
                value = node.step.q if reward == "q" else node.mc_return
                items.append((completion, value, node.parent_key))
    else:
        for record in records:
            traj = record.trajectory
            segments = tuple((s.text, _trains(s, policy_teachers)) for s in traj.steps)
            items.append((Completion(traj.prompt, segments), traj.final_reward, (traj.task_id,)))
    if not items:
        return []
    advantages = group_advantages([r for _, r, _ in items], [g for _, _, g in items], scale=scale)
    samples = []
    for (completion, value, group), adv in zip(items, advantages.tolist()):
        adv = adv * negative_weight if adv < 0 else adv
        if not any(flag and text for text, flag in completion.segments):
            continue
        if not keep_zero_advantage and abs(adv) < 1e-8:
            continue
        samples.append(GroupedSample(completion, value, group, adv))
    return samples


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class GRPOConfig:
    """What GRPO optimises; ``TrainSettings`` holds how (learning rate, batches, device).

    ``negative_weight`` scales the advantages below zero (1: plain GRPO; 0 leaves the losing
    samples out of training altogether, KL included, rather than feeding them with zero weight).
    Lowering it keeps the push toward the search's winning steps and softens the push away from
    losing ones, which on a small policy mostly share their tokens with the winners (format,
    digits) and drag them down too. Positive-only updates favour pass@1 over pass@k ("The
    Surprising Effectiveness of Negative Reinforcement in LLM Reasoning", Zhu et al. 2025).
    """

    group_by: Literal["siblings", "prompt"] = "siblings"
    reward: Literal["q", "mc_return"] = "q"
    scale: Scale = "group"
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    beta: float = 0.04
    min_visits: int = 1
    policy_teachers: tuple[str, ...] | None = None
    negative_weight: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.epsilon_low < 1 or self.epsilon_high < 0:
            raise ValueError(f"need 0 <= epsilon_low < 1 and epsilon_high >= 0, got {self.epsilon_low}, {self.epsilon_high}")
        if self.beta < 0:
            raise ValueError(f"beta (KL coefficient) must be >= 0, got {self.beta}")
        if not 0.0 <= self.negative_weight <= 1.0:
            raise ValueError(f"negative_weight must lie in [0, 1], got {self.negative_weight}")


def train_grpo(
    run: str | Path | Sequence[PathRecord],
    policy: str | Path,
    out_dir: str | Path,
    config: GRPOConfig | None = None,
    settings: TrainSettings | None = None,
    *,
    reference: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """One GRPO update of ``policy`` (a Hugging Face causal-LM dir) on a run's trajectories.

    ``run``: a run directory, a ``trajectories.jsonl`` path, or records already loaded.
    ``reference``: the frozen KL anchor (default: ``policy`` itself; pass the original policy
    when ``policy`` is an earlier round's output). Writes a checkpoint that loads with
    ``AutoModelForCausalLM.from_pretrained(out_dir)``; resumes if ``out_dir`` holds one.
    """
    config = config or GRPOConfig()
    settings = settings or TrainSettings()
    records = load_records(run) if isinstance(run, (str, Path)) else list(run)
    samples = grouped_samples(
        records, group_by=config.group_by, reward=config.reward, scale=config.scale,
        min_visits=config.min_visits, policy_teachers=config.policy_teachers,
        negative_weight=config.negative_weight,
    )

    def prepare(rollout: Rollout, _values) -> Rollout:
        rollout.scalars["advantage"] = torch.tensor([s.advantage for s in samples], dtype=torch.float32)
        return rollout

    def loss_fn(logps, _values, batch: TokenBatch, indices: list[int], rollout: Rollout):
        old, ref = rollout.token_rows(indices, logps.shape[1], logps.device)
        adv = rollout.scalars["advantage"][indices].to(logps.device)
        return grpo_loss(logps, old, ref, adv, batch.loss_mask, epsilon_low=config.epsilon_low,
                         epsilon_high=config.epsilon_high, beta=config.beta)

    return train_policy(
        algo="grpo", policy=policy, out_dir=out_dir, completions=[s.completion for s in samples],
        rewards=torch.tensor([s.reward for s in samples], dtype=torch.float32), settings=settings,
        loss_fn=loss_fn, prepare=prepare, config=settings_dict(config, settings), reference=reference,
        progress=progress,
    )
