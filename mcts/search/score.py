"""Stage 5: score candidate steps — the task's verdict, the generic terminal rules, and the judge.

Scoring reads and returns; it never touches the tree. One call scores every new step of an
iteration (the expansion's children, or a rollout's chain), so the judge sees one batch.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mcts.search.config import JudgeConfig, TerminalConfig
from mcts.search.judging import ask_judge
from mcts.search.merge import Candidate
from mcts.search.steps import SENTENCE_ENDS
from mcts.types import Judge, ScoredText, SearchTask, StepOutcome, TerminalValidator


@dataclass(frozen=True)
class ScoredStep:
    """One candidate step, scored in its path: the task's ``outcome`` (made terminal also by the generic
    rules), the judge's ``verdict`` in [-1, 1] (0 without a judge), and whether the judge prunes it."""

    outcome: StepOutcome
    verdict: float = 0.0
    pruned: bool = False

    def reward(self, judge_scale: float) -> float:
        """The node's immediate reward: the task's, shifted by ``judge_scale * verdict`` (LMGT)."""
        return self.outcome.reward + judge_scale * self.verdict


@dataclass
class JudgeCost:
    calls: int = 0
    states: int = 0
    tokens: int = 0
    seconds: float = 0.0


async def score_steps(
    task: SearchTask,
    paths: Sequence[Sequence[str]],
    ended: Sequence[bool],
    terminal: TerminalConfig,
    judge: Judge | None,
    judge_config: JudgeConfig,
    cost: JudgeCost,
    validator: TerminalValidator | None = None,
) -> list[ScoredStep]:
    """Score each path's last step (``paths[i]`` is the whole path, root excluded, new step last;
    ``ended[i]``: the teacher stopped at end-of-sequence). Adds what the judge cost to ``cost``.

    A step the task leaves open is ended by the ``validator`` when it says the response is final.
    Only steps that stay open are judged: a terminal step is the verifier's to score.
    """
    if not paths:
        return []
    outcomes = terminal_outcomes(task, paths, ended, terminal)
    if validator is not None:
        outcomes = await validated(task, paths, outcomes, validator)
    verdicts = [0.0] * len(paths)
    open_rows = [i for i, o in enumerate(outcomes) if not o.terminal]
    if judge is not None and judge_config.enabled and open_rows:
        states = [ScoredText(task.prompt, tuple(paths[i]), task.reference, task.id) for i in open_rows]
        tokens_before = getattr(judge, "tokens", 0)
        started = time.perf_counter()
        for i, v in zip(open_rows, await ask_judge(judge, states)):
            verdicts[i] = _checked_verdict(v)
        cost.seconds += time.perf_counter() - started
        cost.calls += 1
        cost.states += len(states)
        cost.tokens += getattr(judge, "tokens", 0) - tokens_before
    prune = judge_config.prune and judge is not None
    return [
        ScoredStep(o, v, pruned=prune and not o.terminal and v <= judge_config.prune_below)
        for o, v in zip(outcomes, verdicts)
    ]


async def validated(
    task: SearchTask, paths: Sequence[Sequence[str]], outcomes: list[StepOutcome], validator: TerminalValidator
) -> list[StepOutcome]:
    """``outcomes`` with the open ones the validator calls final made terminal (reward unchanged)."""
    rows = [i for i, o in enumerate(outcomes) if not o.terminal]
    if not rows:
        return outcomes
    states = [ScoredText(task.prompt, tuple(paths[i]), task.reference, task.id) for i in rows]
    final = await asyncio.to_thread(validator.is_final, states)
    out = list(outcomes)
    for i, done in zip(rows, final):
        if done:
            o = out[i]
            out[i] = StepOutcome(True, o.reward, o.solved, o.components)
    return out


def _checked_verdict(value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and -1.0 <= v <= 1.0):
        raise ValueError(f"a judge returned {value!r}; verdicts must be numbers in [-1, 1]")
    return v


def terminal_outcomes(
    task: SearchTask, paths: Sequence[Sequence[str]], ended: Sequence[bool], term: TerminalConfig
) -> list[StepOutcome]:
    """The task's verdict, made terminal also by the generic rules (end-of-sequence, depth, length,
    stop strings, sentence end, overlap with the query or the reference)."""
    outcomes = task.outcomes(paths)
    result = []
    for path, o, eos in zip(paths, outcomes, ended):
        forced = (
            eos
            or len(path) >= term.max_depth
            or sum(len(s) for s in path) >= term.max_chars
            or any(s in path[-1] for s in term.stop_strings)
            or (term.sentence_end and path[-1].rstrip().endswith(SENTENCE_ENDS))
            or _overlaps(term.query_overlap_threshold, "".join(path), task.prompt)
            or _overlaps(term.reference_overlap_threshold, "".join(path), task.reference)
        )
        result.append(o if o.terminal or not forced else StepOutcome(True, o.reward, o.solved, o.components))
    return result


def _overlaps(threshold: float | None, response: str, other: str | None) -> bool:
    """``max(BLEU, ROUGE-L F1)`` of ``response`` against ``other`` reaches ``threshold`` (False when
    either is unset)."""
    if threshold is None or other is None or not response.strip():
        return False
    from value.text_metrics import overlap

    return overlap(response, other) >= threshold


def reweigh_priors(per_leaf: Sequence[Sequence[Candidate]], scored: Sequence[ScoredStep], weight: float) -> None:
    """Carry verdicts into priors: within each leaf's candidates (``scored`` in the same flat order),
    ``prior * exp(weight * verdict)``, renormalised to the leaf's previous total."""
    start = 0
    for cands in per_leaf:
        parts = scored[start : start + len(cands)]
        start += len(cands)
        total = sum(c.prior for c in cands)
        raw = [c.prior * math.exp(weight * s.verdict) for c, s in zip(cands, parts)]
        norm = sum(raw)
        for c, r in zip(cands, raw):
            c.prior = r * total / norm if norm > 0 else c.prior
