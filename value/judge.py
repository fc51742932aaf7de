"""The LMGT judge and the LM terminal validator: a small causal LM answers a question about a state.

LMGT (Deng et al., "LMGT: Optimizing Exploration-Exploitation Balance in Reinforcement Learning
through Language Model Guided Trade-offs", arXiv 2409.04744) uses a language model's verdict to shift
*environment rewards* by -1 / 0 / +1. Here the same verdict shifts *node rewards* in the search tree:
the search adds ``judge.scale * verdict`` to a new node's immediate reward (``LMGTJudge.shift``).

How a verdict is reached, exactly: the state is written into ``template`` (fields ``{prompt}``,
``{history}`` = the steps before the last one, ``{step}`` = the last step, ``{response}`` = all steps,
``{state}`` = the task's view of the state, see ``state_view`` below), and the model scores each
answer string as a continuation of that text:
``a = log p(accept | text)``, ``r = log p(reject | text)``, ``n = log p(neutral | text)`` (sums of
token log-probs in nats; the per-token mean with ``length_normalize``; ``n = -inf`` without a neutral
answer). Then

- ``+1`` if ``a - r > accept_threshold`` and ``a >= n``;
- ``-1`` if ``r - a > reject_threshold`` and ``r >= n``;
- ``0`` otherwise.

With ``state_view`` (a name in :data:`STATE_VIEWS`, e.g. ``"countdown"``), the task first reads the
state: a state its own step checker rejects (an invalid step) is ``-1`` with no model call (``r = 0``,
the other answers ``-inf``), every other state is shown to the model as the view's text. The countdown
view is the numbers left, sorted, and the target, so every path to the same numbers reads the same.

Both thresholds are >= 0, so the two cases never overlap; raising a threshold turns verdicts into 0.
All states of one ``judge`` call go through the model together. When every answer is one token of the
model's tokenizer, each state is one row and the answers are read from its next-token distribution
(one forward pass per ``batch_size`` states); otherwise each (state, answer) pair is a row (one forward
pass per ``batch_size`` rows). Deterministic (no sampling). ``score`` gives the scalar form,
``p(accept) - p(reject)`` in [-1, 1], for searches that take a process reward model.

The bundled judge ``countdown-judge`` (``load_judge("countdown-judge")``) plays the role of Tree of
Thoughts' value prompt (Yao et al. 2023, arXiv 2305.10601: "sure / likely / impossible" for the
numbers left in Game of 24), learned instead of prompted: a small GPT-2 (started from
``countdown-expert``'s weights) trained on solver-labelled states of training-side puzzles
(``teachers.training.judge_data``) to answer ``Y`` (the numbers left can still reach the target) or
``N`` (a dead end) after the countdown view of a state and the marker ``?``; invalid steps are the
task checker's. Its ``judge.json`` holds that template, the view, those answers and the thresholds
below which it says neutral (0). LMGT's -1 / 0 / +1 shift is how its verdict enters the reward; the
search may also prune on it.
"""

from __future__ import annotations

import importlib
import json
import math
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcts.types import ScoredText
from value.causal_lm import CausalLMScorer, Usage

TEMPLATE_FIELDS = frozenset({"prompt", "history", "step", "response", "state"})
# Task-defined views of a state (``{state}`` in a template): ``ScoredText -> str``, or ``None`` when the
# task's own checker already rejects the state (an invalid step): the verdict is -1 and no model runs.
STATE_VIEWS: dict[str, tuple[str, str]] = {"countdown": ("mcts.tasks.countdown_judge", "countdown_state_view")}

DEFAULT_JUDGE_TEMPLATE = (
    "{prompt}{history}\n\nProposed next step: {step}\nIs this step good, neutral or bad?\nAnswer:"
)
DEFAULT_VALIDATOR_TEMPLATE = "{prompt}{response}\n\nIs this answer complete?\nAnswer:"


def _check_template(template: str, owner: str) -> set[str]:
    """The template's fields; ``ValueError`` for a bad format string, an unknown field, or no judged text."""
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
    if not fields & {"step", "response", "state"}:
        raise ValueError(
            f"{owner} template must show the text being judged: include {{step}}, {{response}} or {{state}}"
        )
    return fields


def state_view(name: str) -> Callable[[ScoredText], str | None]:
    """The view named ``name`` in :data:`STATE_VIEWS`; ``ValueError`` listing the known ones."""
    if name not in STATE_VIEWS:
        raise ValueError(f"unknown state view {name!r}; known: {', '.join(sorted(STATE_VIEWS))}")
    module, attribute = STATE_VIEWS[name]
    return getattr(importlib.import_module(module), attribute)


def render(template: str, state: ScoredText, view: str = "") -> str:
    """The template filled in with one state's fields (``view``: its ``{state}``)."""
    steps = tuple(state.steps)
    return template.format(
        prompt=state.prompt,
        history="".join(steps[:-1]),
        step=steps[-1] if steps else "",
        response="".join(steps),
        state=view,
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
    state_view: str | None = None

    def __post_init__(self) -> None:
        fields = _check_template(self.template, "LMGTJudgeConfig")
        if self.state_view is not None and self.state_view not in STATE_VIEWS:
            raise ValueError(f"LMGTJudgeConfig state_view {self.state_view!r} is unknown; known: {sorted(STATE_VIEWS)}")
        if "state" in fields and self.state_view is None:
            raise ValueError("LMGTJudgeConfig template shows {state}: name the task's state_view (e.g. 'countdown')")
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
        self._token_ids: list[int] | None = None  # [] once known that some answer spans several tokens

    def _single_token_ids(self) -> list[int] | None:
        """Each answer's token id when every answer is one token of the tokenizer, else ``None``."""
        if self._token_ids is None:
            encoded = [
                self.scorer.tokenizer(text, add_special_tokens=False)["input_ids"] for text in self.answers.values()
            ]
            self._token_ids = [ids[0] for ids in encoded] if all(len(ids) == 1 for ids in encoded) else []
        return self._token_ids or None

    def __call__(self, states: Sequence[ScoredText], views: Sequence[str] | None = None) -> list[dict[str, float]]:
        labels = list(self.answers)
        prompts = [render(self.template, s, views[i] if views else "") for i, s in enumerate(states)]
        single = self._single_token_ids()
        if single is not None:  # one row per state: the answers are next-token candidates
            table = self.scorer.next_token_logprobs(prompts, single, usage=self.usage)
            self.states += len(states)
            return [{label: float(table[i, j]) for j, label in enumerate(labels)} for i in range(len(states))]
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
        self.checker_rejected = 0
        self._view = state_view(self.config.state_view) if self.config.state_view else None
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
        """States judged: by the model, or by the task's checker through the state view."""
        return self._answers.states + self.checker_rejected

    def answer_logprobs(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        """``{"accept": a, "reject": r, ("neutral": n)}`` log-likelihoods per state (nats).

        With a ``state_view``, a state the task's checker rejects gets ``reject = 0``, every other answer
        ``-inf`` (a certain reject), without a model call; ``checker_rejected`` counts them."""
        if self._view is None:
            return self._answers(states)
        views = [self._view(s) for s in states]
        asked = [i for i, v in enumerate(views) if v is not None]
        scored = self._answers([states[i] for i in asked], [views[i] for i in asked]) if asked else []
        out: list[dict[str, float]] = [
            {label: 0.0 if label == "reject" else -math.inf for label in self._answers.answers} for _ in states
        ]
        for i, row in zip(asked, scored):
            out[i] = row
        self.checker_rejected += len(states) - len(asked)
        return out

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

    def score(self, states: Sequence[ScoredText]) -> list[float]:
        """A scalar verdict in [-1, 1] per state: ``p(accept) - p(reject)``, the answers' probabilities
        renormalised over the answers (accept, reject, and neutral when it has one), as a process reward
        model gives. Same forward passes as :meth:`judge` (the scorer's cache serves both)."""
        out = []
        for lp in self.answer_logprobs(states):
            top = max(lp.values())
            weights = {label: math.exp(v - top) for label, v in lp.items()}
            out.append((weights["accept"] - weights["reject"]) / sum(weights.values()))
        return out


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


# --------------------------------------------------------------------------------------------
# Loading a judge with the template, answers and thresholds stored next to its weights.
# --------------------------------------------------------------------------------------------

JUDGE_CONFIG_FILE = "judge.json"
_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "template": (str,), "accept": (str,), "neutral": (str, type(None)), "reject": (str,),
    "accept_threshold": (int, float), "reject_threshold": (int, float), "length_normalize": (bool,),
    "scale": (int, float), "state_view": (str, type(None)),
}


def load_judge_config(path: str | Path) -> LMGTJudgeConfig:
    """The ``LMGTJudgeConfig`` in a ``judge.json`` file (any subset of its fields; the rest default).

    ``ValueError`` naming the file and the bad key or value (unknown keys are errors, not ignored).
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read judge config {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object with LMGTJudgeConfig fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_CONFIG_TYPES))
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; allowed: {sorted(_CONFIG_TYPES)}")
    for key, value in raw.items():
        kinds = _CONFIG_TYPES[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(f"{path}: {key!r} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    try:
        return LMGTJudgeConfig(**{k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in raw.items()})
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def judge_model_dir(name_or_path: str | Path) -> Path:
    """A local HF model directory as is, or a bundled model name (``countdown-judge``) as its directory.

    ``FileNotFoundError`` naming the value and the bundled names when it is neither, or when the
    directory holds no ``config.json``.
    """
    from teachers.loading import local_model_dir

    return local_model_dir(name_or_path, role="judge model")


def load_judge(
    name_or_path: str | Path, *, device: str = "cpu", batch_size: int = 256, scorer: CausalLMScorer | None = None
) -> LMGTJudge:
    """An :class:`LMGTJudge` on a model directory or bundled name, asked as its ``judge.json`` says.

    With no ``judge.json`` next to the weights the default :class:`LMGTJudgeConfig` is used (any causal
    LM, e.g. a teacher, judged by the " good" / " neutral" / " bad" likelihoods). ``batch_size`` states
    go through one forward pass (the bundled judge answers with one token, so one row per state);
    ``scorer`` shares an already loaded model instead. Loading the weights is lazy (first ``judge``).
    """
    path = judge_model_dir(name_or_path)
    config_path = path / JUDGE_CONFIG_FILE
    config = load_judge_config(config_path) if config_path.is_file() else LMGTJudgeConfig()
    return LMGTJudge(scorer or CausalLMScorer(path, device=device, batch_size=batch_size), config)
