"""Reference-based text metrics: BLEU, chrF (sacrebleu) and ROUGE-1/2/L F1 (rouge-score).

Every score is scaled to [0, 1] (sacrebleu reports 0..100; we divide by 100) and compares the
*response* (the steps so far, prompt excluded) with the state's reference. ``evaluate.load`` cannot
load its metrics offline, which is why these come from the metric packages directly.

The plain functions (``sentence_bleu`` ...) are for callers that only have two strings, e.g. the
search's "BLEU/ROUGE between query and response" terminal test; the classes are ``RewardFn``s.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from mcts.types import ScoredText

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=1)
def _bleu() -> Any:
    from sacrebleu.metrics import BLEU

    # effective_order: sentence-level BLEU ignores n-gram orders longer than the hypothesis
    # instead of returning 0 for every short sentence.
    return BLEU(effective_order=True)


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(list(ROUGE_KEYS), use_stemmer=False)


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """Sentence BLEU (sacrebleu, effective order) in [0, 1]; 0 for an empty hypothesis."""
    if not hypothesis.strip():
        return 0.0
    return _clip01(_bleu().sentence_score(hypothesis, [reference]).score / 100.0)


def sentence_chrf(hypothesis: str, reference: str) -> float:
    """Sentence chrF (sacrebleu defaults: char 6-grams, beta 2) in [0, 1]."""
    if not hypothesis.strip():
        return 0.0
    return _clip01(_chrf().sentence_score(hypothesis, [reference]).score / 100.0)


def rouge_f1(hypothesis: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 in [0, 1], keyed ``rouge1``, ``rouge2``, ``rougeL``.

    rouge-score's tokenizer lower-cases and keeps only ``[a-z0-9]`` runs, so punctuation and
    operators do not count.
    """
    scores = _rouge().score(reference, hypothesis)  # rouge-score takes (target, prediction)
    return {key: _clip01(float(scores[key].fmeasure)) for key in ROUGE_KEYS}


def overlap(hypothesis: str, reference: str) -> float:
    """``max(sentence BLEU, ROUGE-L F1)`` in [0, 1]: the search's terminal overlap test
    (``terminal.query_overlap_threshold`` / ``reference_overlap_threshold``)."""
    return max(sentence_bleu(hypothesis, reference), rouge_f1(hypothesis, reference)["rougeL"])


def _clip01(x: float) -> float:
    # sacrebleu's floating point can land a hair above 100 for identical strings.
    return min(1.0, max(0.0, x))


def require_reference(state: ScoredText, component: str) -> str:
    """The state's reference, or a clear error saying which task lacks one."""
    if state.reference is None:
        raise ValueError(
            f"reward component {component!r} needs a reference, but task {state.task_id!r} has none; "
            f"give the task rows a 'reference' field or drop {component!r} from the reward weights"
        )
    return state.reference


class BleuReward:
    """``RewardFn``: sentence BLEU of the response against the reference, in [0, 1]. Key ``bleu``."""

    name = "bleu"
    keys = ("bleu",)

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [{"bleu": sentence_bleu(s.response, require_reference(s, self.name))} for s in states]


class ChrfReward:
    """``RewardFn``: sentence chrF of the response against the reference, in [0, 1]. Key ``chrf``."""

    name = "chrf"
    keys = ("chrf",)

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [{"chrf": sentence_chrf(s.response, require_reference(s, self.name))} for s in states]


class RougeReward:
    """``RewardFn``: ROUGE F1 against the reference, in [0, 1]. Keys ``rouge1``, ``rouge2``, ``rougeL``."""

    name = "rouge"
    keys = ROUGE_KEYS

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [rouge_f1(s.response, require_reference(s, self.name)) for s in states]
