"""Config names of the reward components, and building an ensemble from a weights table.

A run's config holds ``{key: weight}``; ``build_ensemble`` instantiates only the components whose
keys are named (a zero weight still builds the component, so its value is logged). Keys:

=======================  ======================  =========================================
key                      component (name)        value
=======================  ======================  =========================================
bleu                     BleuReward (bleu)       sentence BLEU vs reference, [0, 1]
chrf                     ChrfReward (chrf)       sentence chrF vs reference, [0, 1]
rouge1 / rouge2 / rougeL RougeReward (rouge)     ROUGE F1 vs reference, [0, 1]
embedding                EmbeddingSimilarity     cosine(response, reference), [0, 1]
perplexity               PerplexityReward        raw perplexity (log only, never weighted)
perplexity_reward        PerplexityReward        1 / perplexity, (0, 1]
step_likelihood          StepLikelihoodReward    accumulated per-step reward along the path
step_likelihood_last     StepLikelihoodReward    the last step's immediate reward, (0, 1]
verifier                 VerifierReward          hard terminal reward (1 solved / 0 not)
length_penalty           LengthPenalty           [-1, 0]
=======================  ======================  =========================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mcts.types import RewardFn, ScoredText
from value.causal_lm import CausalLMScorer
from value.embedding import EmbeddingSimilarity
from value.ensemble import RewardEnsemble
from value.length_penalty import LengthPenalty
from value.perplexity import PerplexityReward, StepLikelihoodReward
from value.text_metrics import BleuReward, ChrfReward, RougeReward
from value.verifier import VerifierReward

# component name -> the keys it produces (the source of truth for config validation).
COMPONENT_KEYS: dict[str, tuple[str, ...]] = {
    "bleu": BleuReward.keys,
    "chrf": ChrfReward.keys,
    "rouge": RougeReward.keys,
    "embedding": EmbeddingSimilarity.keys,
    "perplexity": PerplexityReward.keys,
    "step_likelihood": StepLikelihoodReward.keys,
    "verifier": VerifierReward.keys,
    "length_penalty": LengthPenalty.keys,
}
KEY_TO_COMPONENT = {key: name for name, keys in COMPONENT_KEYS.items() for key in keys}


def build_ensemble(
    weights: Mapping[str, float],
    *,
    scoring_model: str | Path | CausalLMScorer | None = None,
    verify_fn: Callable[[ScoredText], Any] | None = None,
    embedding_model: str | Path | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> RewardEnsemble:
    """A ``RewardEnsemble`` with the components that ``weights`` names.

    ``scoring_model`` (a model directory or a shared ``CausalLMScorer``) is needed for the
    perplexity keys, ``verify_fn`` for ``verifier``. ``options`` passes keyword arguments per
    component name, e.g. ``{"step_likelihood": {"gamma": 0.9}, "length_penalty": {"free": 20}}``.
    Heavy models load lazily on first scoring, once; perplexity components share one scorer.
    """
    unknown = sorted(set(weights) - set(KEY_TO_COMPONENT))
    if unknown:
        raise ValueError(f"unknown reward keys {unknown}; known keys are {sorted(KEY_TO_COMPONENT)}")
    options = dict(options or {})
    bad_options = sorted(set(options) - set(COMPONENT_KEYS))
    if bad_options:
        raise ValueError(f"reward options name unknown components {bad_options}; known: {sorted(COMPONENT_KEYS)}")
    wanted = list(dict.fromkeys(KEY_TO_COMPONENT[key] for key in weights))
    scorer: CausalLMScorer | None = None
    components: list[RewardFn] = []
    for name in wanted:
        kwargs = dict(options.get(name, {}))
        if name in ("perplexity", "step_likelihood"):
            if scoring_model is None:
                raise ValueError(f"reward component {name!r} needs a scoring model: pass scoring_model=<model dir>")
            if scorer is None:
                scorer = scoring_model if isinstance(scoring_model, CausalLMScorer) else CausalLMScorer(scoring_model)
            kwargs["model"] = scorer
        if name == "verifier":
            if verify_fn is None:
                raise ValueError("reward component 'verifier' needs the task's verify function: pass verify_fn=")
            kwargs["verify_fn"] = verify_fn
        if name == "embedding" and embedding_model is not None:
            kwargs.setdefault("model_path", embedding_model)
        try:
            components.append(_FACTORIES[name](**kwargs))
        except TypeError as exc:  # an option the component does not take
            raise ValueError(f"bad options for reward component {name!r}: {exc}") from exc
    return RewardEnsemble(components, weights)


_FACTORIES: dict[str, Callable[..., RewardFn]] = {
    "bleu": BleuReward,
    "chrf": ChrfReward,
    "rouge": RougeReward,
    "embedding": EmbeddingSimilarity,
    "perplexity": PerplexityReward,
    "step_likelihood": StepLikelihoodReward,
    "verifier": VerifierReward,
    "length_penalty": LengthPenalty,
}
