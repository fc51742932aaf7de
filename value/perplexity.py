"""Perplexity rewards under a scoring causal LM (components of the reward ensemble).

Both rewards score the sequence ``prompt, step_1, ..., step_k`` as pieces (see ``CausalLMScorer``),
so they share one forward pass per state when given the same scorer.

- ``PerplexityReward``: perplexity of the whole response, ``ppl = exp(-mean token log-prob)`` over
  all response tokens, given the prompt (``condition_on_prompt``). Reported raw as ``perplexity``
  (lower is better, unbounded: a log-only diagnostic, never weighted) and as the bounded reward
  ``perplexity_reward = 1 / ppl = exp(mean log-prob)`` in (0, 1], the geometric-mean token
  probability (higher is better).
- ``StepLikelihoodReward``: the intermediate reward accumulated along the path. Step ``i``'s
  immediate reward is ``r_i = exp(mean log-prob of step i's tokens | prompt and steps before it)``
  in (0, 1]; the path value is the discounted return from the root ``sum_i gamma**i * r_i``
  (``aggregate="sum"``, steps counted from 0; gamma = 1 is the plain sum, gamma < 1 bounds it by
  ``1 / (1 - gamma)``) or the mean of ``r_i`` (``aggregate="mean"``, which does not grow with the
  number of steps). The node's immediate reward is ``r_k`` of its
  own step, key ``step_likelihood_last``.

Empty pieces have no tokens and score 0 (no evidence is never a reward; an empty response has
``perplexity`` NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mcts.types import ScoredText
from value.causal_lm import CausalLMScorer


def _as_scorer(model: str | Path | CausalLMScorer) -> CausalLMScorer:
    return model if isinstance(model, CausalLMScorer) else CausalLMScorer(model)


def _pieces(state: ScoredText, condition_on_prompt: bool) -> tuple[str, ...]:
    return ((state.prompt,) if condition_on_prompt else ("",)) + tuple(state.steps)


def _geometric_mean_prob(logprobs: np.ndarray) -> float:
    return float(math.exp(float(np.mean(logprobs)))) if logprobs.size else 0.0


class PerplexityReward:
    """``RewardFn``: keys ``perplexity`` (raw, log only) and ``perplexity_reward`` (= 1/ppl, in (0, 1])."""

    name = "perplexity"
    keys = ("perplexity", "perplexity_reward")
    log_only = ("perplexity",)

    def __init__(self, model: str | Path | CausalLMScorer, *, condition_on_prompt: bool = True) -> None:
        self.scorer = _as_scorer(model)
        self.condition_on_prompt = condition_on_prompt

    def perplexity(self, states: Sequence[ScoredText]) -> list[float]:
        """Perplexity of each response (NaN for a response with no scored tokens)."""
        per_piece = self.scorer.piece_logprobs([_pieces(s, self.condition_on_prompt) for s in states])
        out = []
        for pieces in per_piece:
            response = np.concatenate(pieces[1:]) if len(pieces) > 1 else np.zeros(0)
            out.append(float(math.exp(-float(np.mean(response)))) if response.size else math.nan)
        return out

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [
            {"perplexity": ppl, "perplexity_reward": 0.0 if math.isnan(ppl) else 1.0 / ppl}
            for ppl in self.perplexity(states)
        ]


class StepLikelihoodReward:
    """``RewardFn``: keys ``step_likelihood`` (accumulated over the path) and ``step_likelihood_last``."""

    name = "step_likelihood"
    keys = ("step_likelihood", "step_likelihood_last")

    def __init__(
        self,
        model: str | Path | CausalLMScorer,
        *,
        gamma: float = 1.0,
        aggregate: str = "sum",
        condition_on_prompt: bool = True,
    ) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"StepLikelihoodReward gamma must be in (0, 1], got {gamma}")
        if aggregate not in ("sum", "mean"):
            raise ValueError(f"StepLikelihoodReward aggregate must be 'sum' or 'mean', got {aggregate!r}")
        self.scorer = _as_scorer(model)
        self.gamma = gamma
        self.aggregate = aggregate
        self.condition_on_prompt = condition_on_prompt

    def step_rewards(self, states: Sequence[ScoredText]) -> list[list[float]]:
        """Immediate reward ``r_i`` of every step of every state (one list per state, one float per step)."""
        per_piece = self.scorer.piece_logprobs([_pieces(s, self.condition_on_prompt) for s in states])
        return [[_geometric_mean_prob(step) for step in pieces[1:]] for pieces in per_piece]

    def accumulate(self, rewards: Sequence[float]) -> float:
        """The path value from per-step rewards (see the module docstring); 0 for an empty path."""
        if not rewards:
            return 0.0
        if self.aggregate == "mean":
            return float(np.mean(rewards))
        return float(sum(self.gamma**i * r for i, r in enumerate(rewards)))

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [
            {"step_likelihood": self.accumulate(r), "step_likelihood_last": r[-1] if r else 0.0}
            for r in self.step_rewards(states)
        ]
