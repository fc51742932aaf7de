"""AB-MCTS (Inoue et al. 2025, "Wider or Deeper? Scaling LLM Inference-Time Compute with Adaptive
Branching Tree Search", arXiv 2503.04412) through Sakana AI's TreeQuest (``pip install treequest``,
the ``peers`` extra), driving the same teachers, verifier, judge and token budget as the search.

TreeQuest's algorithms are driven through its own ask/tell API: ``ask_batch`` picks a node to expand
and an action (here: which teacher generates), we generate, ``tell`` hands back ``(state, score)``.
Each node is one step: a ``GenerationRequest`` continuing the path, stopped at the step delimiter.
Its score, in [0, 1] as AB-MCTS expects:

- 1.0 when the path verifies (the task is solved and stops);
- 0.0 when the path is invalid or ended without reaching the target (a failed terminal), or the
  teacher produced an empty step; expanding a terminal node generates nothing and scores 0 again;
- ``(judge + 1) / 2`` otherwise (0.5 without a judge).

Batched across tasks: each round asks every unsolved task's tree for one node (AB-MCTS is
sequential per tree), then sends one ``generate`` call per teacher for all of them and one judge
call. ``variant="a"`` is AB-MCTS-A (node aggregation, Thompson sampling; light), ``"m"`` AB-MCTS-M
(mixed model, PyMC; needs ``treequest[abmcts-m]``). Thompson sampling draws from NumPy's global
generator: it is seeded with ``seed`` for the run and restored afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcts.baselines.common import (
    BaselineResult,
    JudgeMeter,
    Ledger,
    check_budget,
    generate_by_teacher,
)
from mcts.search import SearchTask
from mcts.search.steps import parse_step
from mcts.types import GenerationRequest, Judge, ScoredText, Teacher

VARIANTS = ("a", "m")


class PeerUnavailable(RuntimeError):
    """The optional package a peer needs is not installed; the message says what to install."""


@dataclass(frozen=True)
class StepNode:
    """A TreeQuest node state: the path's steps, and whether the path has ended."""

    steps: tuple[str, ...] = ()
    terminal: bool = False


def make_algorithm(variant: str) -> Any:
    """A fresh TreeQuest AB-MCTS algorithm object; ``PeerUnavailable`` if its packages are missing."""
    if variant not in VARIANTS:
        raise ValueError(f"AB-MCTS variant must be one of {VARIANTS}, got {variant!r}")
    try:
        import treequest
    except ImportError as exc:
        raise PeerUnavailable(f"AB-MCTS needs TreeQuest: pip install 'mcts-llm[peers]' ({exc})") from None
    if variant == "a":
        return treequest.ABMCTSA()
    try:
        return treequest.ABMCTSM(max_process_workers=1)
    except ImportError as exc:
        raise PeerUnavailable(f"AB-MCTS-M needs PyMC and JAX: pip install 'treequest[abmcts-m]' ({exc})") from None


def ab_mcts(
    teachers: Sequence[Teacher],
    tasks: Sequence[SearchTask],
    *,
    token_budget: int,
    judge: Judge | None,
    variant: str = "a",
    max_step_tokens: int = 24,
    temperature: float = 1.0,
    step: str = "newline",
    seed: int = 0,
    max_trials: int | None = None,
) -> list[BaselineResult]:
    """AB-MCTS on every task until solved, out of tokens, or ``max_trials`` nodes (default: the budget)."""
    check_budget(token_budget)
    rule = parse_step(step)  # search.step's forms: newline, sentence, tokens:N, token, regex:...
    if not teachers:
        raise ValueError("AB-MCTS needs at least one teacher")
    names = [t.name for t in teachers]
    if len(set(names)) != len(names):
        raise ValueError(f"AB-MCTS actions are teacher names; they must be distinct, got {names}")
    by_name = {n: i for i, n in enumerate(names)}
    trial_cap = max_trials or token_budget
    algorithm = make_algorithm(variant)
    ledgers = [Ledger(t, i) for i, t in enumerate(tasks)]
    trees = [algorithm.init_tree() for _ in tasks]
    trials = [0] * len(tasks)
    meter = JudgeMeter(judge)
    saved_rng = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        round_index = 0
        while active := [g for g in ledgers if not g.done]:
            rows: dict[int, list[tuple[Ledger, Any, StepNode, GenerationRequest]]] = {i: [] for i in range(len(teachers))}
            for g in active:
                trees[g.index], (trial,) = algorithm.ask_batch(trees[g.index], 1, names)
                trials[g.index] += 1
                parent = trial.parent_state or StepNode()
                if parent.terminal:  # nothing to continue: an empty expansion, scored as a failure
                    trees[g.index] = algorithm.tell(trees[g.index], trial.trial_id, (parent, 0.0))
                    continue
                remaining = token_budget - g.tokens
                rows[by_name[trial.action]].append((g, trial, parent, GenerationRequest(
                    prompt=g.task.prompt + "".join(parent.steps), n=1, max_tokens=min(rule.max_tokens(max_step_tokens), remaining),
                    stop=rule.stops, temperature=temperature, seed=seed + 1_000_003 * g.index + round_index,
                )))
            replies = generate_by_teacher(teachers, {i: [r[-1] for r in rs] for i, rs in rows.items()})
            scored: list[tuple[Ledger, Any, StepNode, float]] = []
            to_judge: list[tuple[Ledger, Any, StepNode]] = []
            for i, rs in rows.items():
                for (g, trial, parent, _), (proposal, *_) in zip(rs, replies[i]):
                    g.spend([proposal])
                    step = rule.step_text(proposal)
                    if not step.strip():
                        scored.append((g, trial, StepNode(parent.steps, True), 0.0))
                        continue
                    node = StepNode((*parent.steps, step))
                    (outcome,) = g.task.outcomes([node.steps])
                    if outcome.solved:
                        g.finish(True)
                        scored.append((g, trial, StepNode(node.steps, True), 1.0))
                    elif outcome.terminal:
                        scored.append((g, trial, StepNode(node.steps, True), 0.0))
                    else:
                        to_judge.append((g, trial, node))
            verdicts = meter.score([(g, ScoredText(g.task.prompt, n.steps, g.task.reference, g.task.id)) for g, _, n in to_judge])
            scored += [(g, trial, n, (v + 1.0) / 2.0) for (g, trial, n), v in zip(to_judge, verdicts)]
            for g, trial, node, score in scored:
                trees[g.index] = algorithm.tell(trees[g.index], trial.trial_id, (node, score))
            for g in active:
                if not g.done and (g.tokens >= token_budget or trials[g.index] >= trial_cap):
                    g.finish()
            round_index += 1
    finally:
        np.random.set_state(saved_rng)
    return [g.result() for g in ledgers]
