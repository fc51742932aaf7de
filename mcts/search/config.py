"""Search settings as validated dataclasses (one TOML table each; see mcts/run/config.py).

The native objects' settings are defined once, beside them: ``[search.selection]`` is
:class:`mcts.tree.TreeConfig`, ``[search.weights]`` is :class:`mcts.weights.WeightsConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mcts.search.steps import parse_step
from mcts.tree import TreeConfig
from mcts.weights import WeightsConfig


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Budget:
    """When a task's search stops: whichever limit is reached first.

    ``tokens`` counts every token a teacher generated for this task (proposals and rollouts), exactly:
    it is the unit in which search is compared with sampling. ``None`` disables a limit.
    """

    simulations: int | None = 64
    tokens: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("simulations", "tokens", "seconds"):
            value = getattr(self, name)
            _check(value is None or value > 0, f"budget.{name} must be positive or unset, got {value!r}")
        _check(
            any(v is not None for v in (self.simulations, self.tokens, self.seconds)),
            "budget: set at least one of simulations, tokens, seconds (otherwise the search never stops)",
        )


@dataclass(frozen=True)
class ExpansionConfig:
    """How a leaf asks teachers for children.

    Each leaf draws ``teachers_per_leaf`` teachers from the weights (with replacement); each draw asks
    for ``proposals_per_teacher`` continuations of at most ``max_step_tokens`` tokens, stopped at the
    step delimiter. Identical proposals are merged.
    """

    batch_leaves: int = 4
    # One teacher per leaf, two samples: every token goes to a teacher the weights chose, and the
    # rollout below the new child is that teacher's too (evaluation.rollout_teacher = "proposer").
    teachers_per_leaf: int = 1
    proposals_per_teacher: int = 2
    max_step_tokens: int = 24
    temperature: float = 1.0
    top_p: float = 1.0
    # A leaf whose teachers proposed nothing new (most often the steps it already has) is asked this
    # many more times, with new seeds, before it stops widening; the k-th time at temperature
    # ``temperature * (1 + retry_heat * k)``. Closing it at once (and only retrying leaves whose
    # children the judge pruned) left searches stalled with budget unspent: on dev puzzles
    # (benchmarks/search_settings_dev.py, RESULTS "Stalls") the expert's search at 1600 tokens
    # solved 0.515 that way and 0.625 with retries and heat.
    retries: int = 8
    retry_heat: float = 0.25

    def __post_init__(self) -> None:
        for name in ("batch_leaves", "teachers_per_leaf", "proposals_per_teacher", "max_step_tokens"):
            _check(getattr(self, name) >= 1, f"expansion.{name} must be >= 1, got {getattr(self, name)}")
        _check(self.retries >= 0, f"expansion.retries must be >= 0, got {self.retries}")
        _check(math.isfinite(self.retry_heat) and self.retry_heat >= 0, f"expansion.retry_heat must be finite and >= 0, got {self.retry_heat}")
        _check(self.temperature >= 0, f"expansion.temperature must be >= 0, got {self.temperature}")


@dataclass(frozen=True)
class EvaluationConfig:
    """Leaf evaluation: a rollout by a policy teacher, a value function, or a blend of both.

    ``rollout_teacher`` is ``"proposer"`` (the teacher that proposed the evaluated child; default),
    ``"top"`` (the teacher with the highest weight right now), ``"context"`` (the rollout is written a
    step at a time, each step by the teacher that leads that step's context, and each step credited
    to its writer in that context: with per-context weights, each part of the job by the teacher that
    is best there so far; the expansions keep drawing, and trying, the others) or a teacher name. Rollouts sample at
    ``rollout_temperature`` (1.0: repeated visits see different completions; 0: greedy). ``blend`` is the weight of the
    value function in ``(1 - blend) * rollout + blend * value`` (mode ``"blend"``). ``value_net`` is a
    directory written by ``value.ValueNet.save``: modes ``"value"`` and ``"blend"`` read it (see
    ``mcts.run.setup.build_evaluator``).

    ``value_credit``: where a value function scores a new child (modes ``"value"`` and ``"blend"``), the
    teachers that proposed its step are credited at once with the value change it made,
    ``clip(0.5 + (u(child) - u(parent)) / 2, 0, 1)``, ``u`` the estimate mapped onto [0, 1] by the task's
    return range (the parent's estimate asked of the value function when it has none yet, e.g. the
    root); a step that keeps the value is a neutral 0.5, like a neutral verdict.
    """

    mode: str = "rollout"
    # "proposer": the path below a new child is the proposing teacher's own, so the outcome credited
    # to it measures that teacher (with "top" the favourite finished everyone's paths).
    rollout_teacher: str = "proposer"
    rollout_max_tokens: int = 96
    rollout_temperature: float = 1.0
    blend: float = 0.5
    value_net: str | None = None
    value_credit: bool = True

    def __post_init__(self) -> None:
        _check(isinstance(self.value_credit, bool), f"evaluation.value_credit must be true or false, got {self.value_credit!r}")
        _check(self.mode in ("rollout", "value", "blend"), f"evaluation.mode must be rollout|value|blend, got {self.mode!r}")
        _check(self.rollout_max_tokens >= 1, f"evaluation.rollout_max_tokens must be >= 1, got {self.rollout_max_tokens}")
        _check(0 <= self.blend <= 1, f"evaluation.blend must be in [0, 1], got {self.blend}")


@dataclass(frozen=True)
class TerminalConfig:
    """When a path ends, besides the task's own rule and the teacher's end-of-sequence.

    ``max_depth`` steps or ``max_chars`` characters of response end it; so does a step holding one of
    ``stop_strings``; ``sentence_end`` ends it at a step ending in ``. ! ?`` (sentence-level tasks).
    ``query_overlap_threshold`` ends it once the overlap between the query (the task prompt) and the
    response reaches the threshold (a response that has restated the question, or finished an
    echo/paraphrase task); ``reference_overlap_threshold`` does the same against the task's reference
    (none without one). Overlap is ``max(BLEU, ROUGE-L F1)``, both in [0, 1] (sacrebleu, rouge-score).
    ``validator`` names a model (HF path or bundled name) whose yes/no likelihood decides
    (``value.LMTerminalValidator``).
    """

    max_depth: int = 8
    max_chars: int = 2000
    stop_strings: tuple[str, ...] = ()
    sentence_end: bool = False
    query_overlap_threshold: float | None = None
    reference_overlap_threshold: float | None = None
    validator: str | None = None

    def __post_init__(self) -> None:
        _check(self.max_depth >= 1, f"terminal.max_depth must be >= 1, got {self.max_depth}")
        _check(self.max_chars >= 1, f"terminal.max_chars must be >= 1, got {self.max_chars}")
        _check(isinstance(self.sentence_end, bool), f"terminal.sentence_end must be true or false, got {self.sentence_end!r}")
        _check(all(isinstance(s, str) and s for s in self.stop_strings),
               f"terminal.stop_strings must be non-empty strings, got {self.stop_strings!r}")
        for name in ("query_overlap_threshold", "reference_overlap_threshold"):
            value = getattr(self, name)
            _check(value is None or 0 < value <= 1, f"terminal.{name} must be in (0, 1] or unset, got {value}")


@dataclass(frozen=True)
class JudgeConfig:
    """The judge's seat in the search (``judge.*``).

    ``model`` is an HF path or bundled name (``enabled = false``, ``--no-judge``, searches without one
    whatever ``model`` says). For every new open step the judge returns a verdict ``v`` in [-1, 1]:

    - reward: ``scale * v`` is added to the node's immediate reward (LMGT's shift);
    - pruning: with ``prune``, a step with ``v <= prune_below`` is added as a dead end: never expanded
      or rolled out, its (shifted) reward backed up at once (Tree of Thoughts' pruning);
    - priors: a leaf's new children get ``prior * exp(prior_weight * v)``, renormalised;
    - values: with ``value_weight = w > 0`` the value backed up from a judged child is
      ``(1 - w) * evaluation + w * (low + (v + 1) / 2 * (high - low))``, the verdict read as a value
      on the task's return range (0..1 for a verifier);
    - credit: with ``credit`` (and dynamic weights) every teacher that proposed the step is credited
      at once with ``(v + 1) / 2`` in the step's context, besides the path credit when it finishes.

    Defaults chosen on dev puzzles with the bundled judge (``benchmarks/search_settings_dev.py``,
    RESULTS "Judge settings"): pruning plus ``prior_weight = 1`` and ``value_weight = 0.5`` solved the
    most, averaged over 100, 200 and 400 tokens per puzzle.
    """

    enabled: bool = True
    model: str | None = None
    scale: float = 0.1
    prune: bool = True
    prune_below: float = -0.5
    prior_weight: float = 1.0
    value_weight: float = 0.5
    credit: bool = True

    def __post_init__(self) -> None:
        _check(isinstance(self.enabled, bool), f"judge.enabled must be true or false, got {self.enabled!r}")
        _check(isinstance(self.credit, bool), f"judge.credit must be true or false, got {self.credit!r}")
        _check(isinstance(self.prune, bool), f"judge.prune must be true or false, got {self.prune!r}")
        _check(math.isfinite(self.scale), f"judge.scale must be finite, got {self.scale}")
        _check(-1 <= self.prune_below < 1, f"judge.prune_below must be in [-1, 1), got {self.prune_below}")
        _check(math.isfinite(self.prior_weight) and self.prior_weight >= 0, f"judge.prior_weight must be finite and >= 0, got {self.prior_weight}")
        _check(0 <= self.value_weight <= 1, f"judge.value_weight must be in [0, 1], got {self.value_weight}")


@dataclass(frozen=True)
class SearchConfig:
    """Everything one task's search needs besides the teachers and the task itself."""

    budget: Budget = field(default_factory=Budget)
    selection: TreeConfig = field(default_factory=TreeConfig)
    weights: WeightsConfig = field(default_factory=WeightsConfig)
    expansion: ExpansionConfig = field(default_factory=ExpansionConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    terminal: TerminalConfig = field(default_factory=TerminalConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    stop_on_solve: bool = True
    seed: int = 0
    # A benched (failed) teacher is probed with one small request every this many tasks.
    probe_every: int = 4
    # What one action is: newline | sentence | token | tokens:N | regex:PATTERN (mcts.search.steps).
    step: str = "newline"

    def __post_init__(self) -> None:
        parse_step(self.step)  # raises ValueError naming the value and the forms
        _check(isinstance(self.stop_on_solve, bool), f"stop_on_solve must be true or false, got {self.stop_on_solve!r}")
        _check(isinstance(self.seed, int) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**63,
               f"seed must be an integer in [0, 2**63), got {self.seed!r}")
        _check(isinstance(self.probe_every, int) and self.probe_every >= 1, f"probe_every must be >= 1, got {self.probe_every!r}")
