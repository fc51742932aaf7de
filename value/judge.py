"""The LMGT judge and the LM terminal validator: a small causal LM answers a question about a state.

LMGT (Deng et al., "LMGT: Optimizing Exploration-Exploitation Balance in Reinforcement Learning
through Language Model Guided Trade-offs", arXiv 2409.04744) uses a language model's verdict to shift
*environment rewards* by -1 / 0 / +1. Here the same verdict shifts *node rewards* in the search tree:
the search adds ``judge.scale * verdict`` to a new node's immediate reward (``LMGTJudge.shift``).

How a verdict is reached, exactly: the state is written into ``template`` (fields ``{prompt}``,
``{history}`` = the steps before the last one, ``{step}`` = the last step, ``{response}`` = all steps),
and the model scores each answer string as a continuation of that text:
``a = log p(accept | text)``, ``r = log p(reject | text)``, ``n = log p(neutral | text)`` (sums of
token log-probs in nats; the per-token mean with ``length_normalize``; ``n = -inf`` without a neutral
answer). Then

- ``+1`` if ``a - r > accept_threshold`` and ``a >= n``;
- ``-1`` if ``r - a > reject_threshold`` and ``r >= n``;
- ``0`` otherwise.

Both thresholds are >= 0, so the two cases never overlap; raising a threshold turns verdicts into 0.
All answers of all states of one ``judge`` call go through the model together (one forward pass per
``batch_size`` sequences). Deterministic (no sampling).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcts.types import ScoredText
from value.causal_lm import CausalLMScorer, Usage

TEMPLATE_FIELDS = frozenset({"prompt", "history", "step", "response"})

DEFAULT_JUDGE_TEMPLATE = (
    "{prompt}{history}\n\nProposed next step: {step}\nIs this step good, neutral or bad?\nAnswer:"
)
DEFAULT_VALIDATOR_TEMPLATE = "{prompt}{response}\n\nIs this answer complete?\nAnswer:"


def _check_template(template: str, owner: str) -> None:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ValueError(f"{owner} template is not a valid format string: {exc}") from exc
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        raise ValueError(
            f"{owner} template uses unknown fields {unknown}; allowed: {sorted(TEMPLATE_FIELDS)} "
            "(write a literal brace as '{{' or '}}')"
        )
    if not fields & {"step", "response"}:
        raise ValueError(f"{owner} template must show the text being judged: include {{step}} or {{response}}")


def render(template: str, state: ScoredText) -> str:
    """The template filled in with one state's fields."""
    steps = tuple(state.steps)
    return template.format(
        prompt=state.prompt,
        history="".join(steps[:-1]),
        step=steps[-1] if steps else "",
        response="".join(steps),
    )


@dataclass(frozen=True)
class LMGTJudgeConfig:
    """How the judge asks and decides (see the module docstring for the exact rule)."""

    template: str = DEFAULT_JUDGE_TEMPLATE
    accept: str = " good"
    neutral: str | None = " neutral"
    reject: str = " bad"
    accept_threshold: float = 0.0
    reject_threshold: float = 0.0
    length_normalize: bool = False
    scale: float = 1.0

    def __post_init__(self) -> None:
        _check_template(self.template, "LMGTJudgeConfig")
        answers = [a for a in (self.accept, self.neutral, self.reject) if a is not None]
        if any(not a for a in answers):
            raise ValueError("LMGTJudgeConfig answer strings must be non-empty (e.g. ' good', ' neutral', ' bad')")
        if len(set(answers)) != len(answers):
            raise ValueError(f"LMGTJudgeConfig answer strings must differ, got {answers}")
        for label in ("accept_threshold", "reject_threshold"):
            value = getattr(self, label)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"LMGTJudgeConfig {label} must be finite and >= 0, got {value}")
        if not math.isfinite(self.scale) or self.scale < 0:
            raise ValueError(f"LMGTJudgeConfig scale must be finite and >= 0, got {self.scale}")


class _AnswerLikelihoods:
    """Log-likelihood of fixed answer strings after a rendered template, batched, with usage counting."""

    def __init__(self, model: str | Path | CausalLMScorer, template: str, answers: Mapping[str, str | None],
                 length_normalize: bool) -> None:
        self.scorer = model if isinstance(model, CausalLMScorer) else CausalLMScorer(model)
        self.template = template
        self.answers = {label: text for label, text in answers.items() if text is not None}
        self.length_normalize = length_normalize
        self.usage = Usage()
        self.states = 0

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        labels = list(self.answers)
        prompts = [render(self.template, s) for s in states]
        batch = [(p, self.answers[label]) for p in prompts for label in labels]
        scored = self.scorer.piece_logprobs(batch, usage=self.usage)
        self.states += len(states)
        out = []
        for i in range(len(states)):
            row = {}
            for j, label in enumerate(labels):
                lp = scored[i * len(labels) + j][1]
                if lp.size == 0:
                    raise ValueError(
                        f"answer {self.answers[label]!r} was cut off the context window; shorten the template"
                    )
                row[label] = float(np.mean(lp) if self.length_normalize else np.sum(lp))
            out.append(row)
        return out


class _CountsModelUse:
    """``calls`` (forward passes) and ``tokens`` (tokens fed) this object spent, for the budget report."""

    _answers: _AnswerLikelihoods

    @property
    def calls(self) -> int:
        return self._answers.usage.calls

    @property
    def tokens(self) -> int:
        return self._answers.usage.tokens


class LMGTJudge(_CountsModelUse):
    """``Judge``: -1 / 0 / +1 per state from answer likelihoods under a small causal LM.

    ``model`` is a local HF causal LM directory or a ``CausalLMScorer`` shared with the perplexity
    rewards. ``calls`` counts forward passes and ``tokens`` the tokens fed, for the budget report;
    ``judged`` counts states.
    """

    def __init__(self, model: str | Path | CausalLMScorer, config: LMGTJudgeConfig | None = None) -> None:
        self.config = config or LMGTJudgeConfig()
        self._answers = _AnswerLikelihoods(
            model,
            self.config.template,
            {"accept": self.config.accept, "neutral": self.config.neutral, "reject": self.config.reject},
            self.config.length_normalize,
        )

    @property
    def scale(self) -> float:
        return self.config.scale

    @property
    def judged(self) -> int:
        return self._answers.states

    def answer_logprobs(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        """``{"accept": a, "reject": r, ("neutral": n)}`` log-likelihoods per state (nats)."""
        return self._answers(states)

    def decide(self, logprobs: Mapping[str, float]) -> int:
        """The verdict for one state's answer log-likelihoods (the rule in the module docstring)."""
        a, r = logprobs["accept"], logprobs["reject"]
        n = logprobs.get("neutral", -math.inf)
        if a - r > self.config.accept_threshold and a >= n:
            return 1
        if r - a > self.config.reject_threshold and r >= n:
            return -1
        return 0

    def judge(self, states: Sequence[ScoredText]) -> list[int]:
        """-1 (reject), 0 (neutral) or +1 (accept) for each state's last step."""
        return [self.decide(lp) for lp in self.answer_logprobs(states)]

    def shift(self, states: Sequence[ScoredText]) -> list[float]:
        """``scale * verdict``: what the search adds to each node's immediate reward."""
        return [self.config.scale * v for v in self.judge(states)]


class LMTerminalValidator(_CountsModelUse):
    """Terminal detection by a small model: ``is_final`` iff ``log p(yes) - log p(no) > threshold``.

    Same mechanics as the judge (template fields, one batched forward, ``calls`` / ``tokens``);
    answers default to ``" yes"`` / ``" no"``. ``threshold`` may be negative (eager to stop).
    """

    def __init__(
        self,
        model: str | Path | CausalLMScorer,
        *,
        template: str = DEFAULT_VALIDATOR_TEMPLATE,
        yes: str = " yes",
        no: str = " no",
        threshold: float = 0.0,
        length_normalize: bool = False,
    ) -> None:
        _check_template(template, "LMTerminalValidator")
        if not yes or not no or yes == no:
            raise ValueError(f"LMTerminalValidator needs two different non-empty answers, got {yes!r} and {no!r}")
        if not math.isfinite(threshold):
            raise ValueError(f"LMTerminalValidator threshold must be finite, got {threshold}")
        self.threshold = threshold
        self._answers = _AnswerLikelihoods(model, template, {"yes": yes, "no": no}, length_normalize)

    def final_margin(self, states: Sequence[ScoredText]) -> list[float]:
        """``log p(yes) - log p(no)`` per state (nats)."""
        return [lp["yes"] - lp["no"] for lp in self._answers(states)]

    def is_final(self, states: Sequence[ScoredText]) -> list[bool]:
        """Whether each state looks finished to the validator model."""
        return [m > self.threshold for m in self.final_margin(states)]
