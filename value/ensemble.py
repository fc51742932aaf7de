"""The reward ensemble: a weighted sum of named reward components (metrics, verifier, perplexity, penalties).

Weights come from config as ``{component key: weight}`` (or from ``value.fit.fit_weights``). Every
component is computed and logged; keys the weights do not name count 0 towards the total, so a
config can log ``rouge1`` while only weighting ``rougeL``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mcts.types import RewardFn, ScoredText


@dataclass(frozen=True)
class RewardBreakdown:
    """One state's reward: the weighted ``total`` and every component value (weighted or not)."""

    total: float
    components: dict[str, float]


def component_keys(component: RewardFn) -> tuple[str, ...]:
    """The keys a component returns: its ``keys`` attribute, else just its ``name``."""
    return tuple(getattr(component, "keys", (component.name,)))


class RewardEnsemble:
    """Weighted sum of reward components; itself a ``RewardFn`` (name ``ensemble``).

    ``weights`` maps component keys (e.g. ``bleu``, ``rougeL``, ``embedding``,
    ``perplexity_reward``, ``step_likelihood``, ``verifier``, ``length_penalty``) to finite
    non-negative weights; ``None`` weights every key 1 except log-only ones (raw ``perplexity``).
    Raises ``ValueError`` for unknown keys, duplicate keys across components, negative / NaN / inf
    weights, and a non-zero weight on a log-only key.
    """

    name = "ensemble"

    def __init__(self, components: Sequence[RewardFn], weights: Mapping[str, float] | None = None) -> None:
        if not components:
            raise ValueError("RewardEnsemble needs at least one component")
        owner: dict[str, str] = {}
        log_only: set[str] = set()
        for component in components:
            if not callable(component) or not isinstance(getattr(component, "name", None), str):
                raise TypeError(f"reward component {component!r} is not a RewardFn (needs .name and __call__)")
            for key in component_keys(component):
                if key in owner:
                    raise ValueError(
                        f"reward key {key!r} is produced by both {owner[key]!r} and {component.name!r}; "
                        "keep one of them"
                    )
                owner[key] = component.name
            log_only.update(getattr(component, "log_only", ()))
        self.components = tuple(components)
        self.keys = tuple(owner)
        if weights is None:
            weights = {key: (0.0 if key in log_only else 1.0) for key in self.keys}
        unknown = sorted(set(weights) - set(owner))
        if unknown:
            raise ValueError(
                f"reward weights name unknown components {unknown}; the components give {sorted(owner)}"
            )
        for key, weight in weights.items():
            if not isinstance(weight, (int, float)) or isinstance(weight, bool):
                raise TypeError(f"reward weight {key!r} must be a number, got {weight!r}")
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"reward weight {key!r} must be finite and >= 0, got {weight}")
            if key in log_only and weight != 0:
                raise ValueError(
                    f"reward key {key!r} is a log-only diagnostic (unbounded, lower is better); weight "
                    f"its bounded counterpart instead (e.g. 'perplexity_reward' for 'perplexity')"
                )
        self.weights: dict[str, float] = {key: float(weights.get(key, 0.0)) for key in self.keys}

    def components_of(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        """Every component value of every state (one dict per state), each component called once, batched."""
        merged: list[dict[str, float]] = [{} for _ in states]
        for component in self.components:
            values = component(states)
            if len(values) != len(states):
                raise ValueError(
                    f"reward component {component.name!r} returned {len(values)} results for {len(states)} states"
                )
            for row, value in zip(merged, values):
                row.update(value)
        return merged

    def total(self, components: Mapping[str, float]) -> float:
        """Weighted sum of one state's components (zero-weight keys are skipped, so NaN there is harmless)."""
        total = 0.0
        for key, weight in self.weights.items():
            if weight == 0.0:
                continue
            if key not in components:
                raise ValueError(f"reward component value {key!r} is missing; got {sorted(components)}")
            value = components[key]
            if not math.isfinite(value):
                raise ValueError(f"reward component {key!r} is {value} (weighted {weight}); it must be finite")
            total += weight * value
        return total

    def score(self, states: Sequence[ScoredText]) -> list[RewardBreakdown]:
        """Total and components for each state."""
        return [RewardBreakdown(self.total(c), c) for c in self.components_of(states)]

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        """``RewardFn`` form: the components plus the weighted sum under key ``total``."""
        return [{**b.components, "total": b.total} for b in self.score(states)]
