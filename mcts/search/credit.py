"""Credit the teachers: a step's proposers as soon as the judge scores it (stage 5) or a value
function scores the state it leads to (stage 7), and every teacher along a path once it finishes
(stage 9)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mcts.search.context import StepContexts
from mcts.search.score import ScoredStep
from mcts.tree import NO_TEACHER, Tree
from mcts.weights import NO_CONTEXT, TeacherWeights


class ReturnRange:
    """Maps a path's return to the [0, 1] outcome that teachers are credited with.

    With the task's ``return_range = (low, high)`` (0..1 for a verifier: the outcome is then 1 for a
    solved path, 0 otherwise) that range is used; without one (a text task scored by metrics) the
    range is the lowest and highest return seen so far by this searcher, across tasks, so the
    outcome is the path's rank between the worst and the best finished path (0.5 before any spread).
    """

    def __init__(self) -> None:
        self.low = float("inf")
        self.high = float("-inf")

    def outcome(self, value: float, known: tuple[float, float] | None) -> float:
        if known is not None:
            low, high = known
        else:
            self.low, self.high = min(self.low, value), max(self.high, value)
            low, high = self.low, self.high
        if not high > low:
            return 0.5 if known is None else float(value >= high)
        return min(1.0, max(0.0, (value - low) / (high - low)))


def credit_finished(
    weights: TeacherWeights,
    tree: Tree,
    finished: Sequence[tuple[int, float]],
    contexts: Callable[[np.ndarray], list[int]] | None = None,
) -> None:
    """Credit each finished path's outcome (``(terminal node, outcome in [0, 1])``, see
    :class:`ReturnRange`) to the teachers that proposed its steps, earlier steps discounted by
    ``gamma`` (``credit_path``); with ``contexts`` (node ids below the root -> the context each was
    drawn in) in those contexts too.

    Only steps drawn from the weights are credited; a rollout's steps are skipped (``NO_TEACHER``):
    a rollout evaluates, it was not a draw. Crediting it made the rollout teacher (the favourite, in
    ``rollout_teacher = "top"`` mode) absorb every failed evaluation, and the weights oscillated
    instead of ranking the teachers by skill.
    """
    for node, outcome in finished:
        path = tree.path(node)[1:]  # the root has no teacher
        notes = tree.notes.many(path)
        teachers = np.where([n.from_rollout for n in notes], NO_TEACHER, tree.nodes(path).teacher).astype(np.int32)
        if (teachers != NO_TEACHER).any():
            if contexts is None:
                weights.credit_path(teachers, outcome)
            else:
                weights.credit_path(teachers, outcome, contexts(path))


def credit_judged_steps(
    weights: TeacherWeights,
    proposers: Sequence[Sequence[int]],
    verdicts: Sequence[float | None],
    contexts: Sequence[int] | None = None,
) -> None:
    """Credit each judged step's verdict ``v`` in [-1, 1] to its proposers at once, as the outcome
    ``(v + 1) / 2``, in the context the step was drawn in. A step several teachers proposed (merged)
    credits each of them in full: each proposed exactly that step. ``None``: not judged (a terminal
    step, which its path's outcome credits), nothing to credit."""
    outcomes = [None if v is None else (v + 1.0) / 2.0 for v in verdicts]
    credit_steps(weights, proposers, outcomes, contexts)


def value_change_outcome(child: float, parent: float) -> float:
    """The outcome a step is credited with from the value estimates (each in [0, 1]) it moved between."""
    return min(1.0, max(0.0, 0.5 + (child - parent) / 2.0))


def credit_steps(
    weights: TeacherWeights,
    proposers: Sequence[Sequence[int]],
    outcomes: Sequence[float | None],
    contexts: Sequence[int] | None = None,
) -> None:
    """Credit each step's outcome in [0, 1] to every one of its proposers (``None``: nothing to credit)."""
    for k, (ids, outcome) in enumerate(zip(proposers, outcomes)):
        if outcome is None:
            continue
        context = NO_CONTEXT if contexts is None else contexts[k]
        for teacher in ids:
            weights.update(int(teacher), outcome, None if context == NO_CONTEXT else context)


class StepCredits:
    """The credits of a context rollout's steps (``evaluation.rollout_teacher = "context"``): each
    step's writer is the leader of its context, credited like a drawn step's proposers, in the
    step's context: with ``(v + 1) / 2`` when the judge scored it (``judged``: a judge
    that credits), with the path's outcome when it ended the path. (Path credit skips rollout steps, so
    nothing is credited twice.) ``steps_of(node)`` gives the steps from the task's start to ``node``."""

    def __init__(self, weights: TeacherWeights, contexts: StepContexts, steps_of: Callable[[int], list[str]], judged: bool) -> None:
        self.weights, self.step_contexts, self.steps_of, self.judged = weights, contexts, steps_of, judged
        self.writers: list[list[int]] = []
        self.outcomes: list[float | None] = []
        self.contexts: list[int] = []

    def add(self, writer: int, parent: int, scored: ScoredStep, finished: list[tuple[int, float]]) -> None:
        """One rollout step, written by ``writer`` below ``parent``; ``finished``: the path it ended, if any."""
        judged = self.judged and not scored.outcome.terminal
        outcome = finished[0][1] if finished else (scored.verdict + 1.0) / 2.0 if judged else None
        self.writers.append([writer])
        self.outcomes.append(outcome)
        self.contexts.append(self.step_contexts.at(self.steps_of(parent)))

    def apply(self) -> None:
        credit_steps(self.weights, self.writers, self.outcomes, self.contexts if self.step_contexts.on else None)
