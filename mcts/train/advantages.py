"""Advantages: group-normalised (GRPO) and generalised advantage estimation (PPO).

GRPO (Shao et al. 2024, DeepSeekMath, arXiv 2402.03300) replaces a critic by the statistics of a
group of samples for the same state: ``A_i = (r_i - mean(r_group)) / (std(r_group) + eps)``, with the
unbiased (Bessel-corrected) standard deviation and ``eps = 1e-4`` as in TRL's ``GRPOTrainer``.
Here a group is either the siblings of one tree node (step-level, TreeRPO, arXiv 2506.05183) or
the paths of one prompt.

GAE (Schulman et al. 2016, arXiv 1506.02438) over the steps of one path:
``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)``, ``A_t = sum_k (gamma * lam)^k delta_{t+k}``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import torch

Scale = Literal["group", "batch", "none"]


def group_advantages(
    rewards: Sequence[float] | torch.Tensor,
    groups: Sequence[Hashable],
    *,
    scale: Scale = "group",
    eps: float = 1e-4,
) -> torch.Tensor:
    """Group-normalised advantages, shape ``(N,)`` float32 (float64 input stays float64).

    ``groups[i]`` names the group of sample ``i`` (groups need not be contiguous or equal-sized).
    ``scale``: divide by the group's std (``"group"``, GRPO), by the whole batch's std
    (``"batch"``, Dr. GRPO-style), or not at all (``"none"``). A group of one sample gets 0.
    """
    r = rewards if torch.is_tensor(rewards) else torch.tensor(list(rewards), dtype=torch.float32)
    if r.dim() != 1 or len(groups) != r.numel():
        raise ValueError(f"rewards must be 1-D with one group label each; got {tuple(r.shape)} and {len(groups)} labels")
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    index: dict[Hashable, int] = {}
    ids = torch.tensor([index.setdefault(g, len(index)) for g in groups], dtype=torch.long)
    n_groups = len(index)
    counts = torch.zeros(n_groups, dtype=r.dtype).index_add_(0, ids, torch.ones_like(r))
    means = torch.zeros(n_groups, dtype=r.dtype).index_add_(0, ids, r) / counts
    centred = r - means[ids]
    if scale == "none":
        return centred
    if scale == "batch":
        std = r.std(unbiased=True) if r.numel() > 1 else torch.zeros((), dtype=r.dtype)
        return centred / (std + eps)
    squares = torch.zeros(n_groups, dtype=r.dtype).index_add_(0, ids, centred**2)
    std = torch.sqrt(squares / (counts - 1).clamp(min=1))
    return centred / (std[ids] + eps)


def gae(
    rewards: Sequence[float] | torch.Tensor,
    values: Sequence[float] | torch.Tensor,
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
    last_value: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over the ``T`` steps of one path; returns ``(advantages, returns)``, each shape ``(T,)``.

    ``values[t]`` is V(s_t), the state *before* step ``t``; ``last_value`` is V after the last step
    (0 for a terminal state). ``returns = advantages + values`` (the value-function targets).
    """
    if not 0.0 <= gamma <= 1.0 or not 0.0 <= lam <= 1.0:
        raise ValueError(f"gamma and lam must lie in [0, 1], got gamma={gamma}, lam={lam}")
    r = torch.as_tensor(rewards, dtype=torch.float32)
    v = torch.as_tensor(values, dtype=torch.float32).detach()
    if r.shape != v.shape or r.dim() != 1:
        raise ValueError(f"rewards and values must be 1-D of equal length, got {tuple(r.shape)} and {tuple(v.shape)}")
    advantages = torch.zeros_like(r)
    running = 0.0
    next_value = float(last_value)
    for t in range(r.numel() - 1, -1, -1):
        delta = r[t] + gamma * next_value - v[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = v[t]
    return advantages, advantages + v
