"""Stage 4: merge identical proposals into candidate children and give each a prior; admit them.

Several teachers (or several samples of one) often propose the same step. Merging keeps the tree from
exploding and combines their evidence: a candidate's prior is the sum, over the proposals
merged into it, of the proposing teacher's probability times the proposal's normalised likelihood
(the per-token geometric mean ``exp(logprob_sum / tokens)``, in (0, 1]). Priors are then normalised
over the new candidates of one leaf.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from mcts.search.steps import StepRule
from mcts.types import Proposal

# A proposal whose backend reported no likelihood counts as this per-token probability: neutral, not
# invented as certain.
MISSING_LIKELIHOOD = 0.5


@dataclass
class Candidate:
    """One distinct step for a leaf, with every proposal that produced it."""

    text: str
    prior: float
    teachers: list[str]
    teacher_ids: list[int]
    tokens: int
    ended: bool  # a teacher stopped at end-of-sequence rather than at the step delimiter
    from_rollout: bool = False  # a rollout's step: evaluation, not a draw from the weights (never credited)


def step_key(text: str) -> str:
    """Proposals that differ only in surrounding white space are the same step."""
    return " ".join(text.split())


def normalised_likelihood(proposal: Proposal) -> float:
    if proposal.logprob_sum is None or proposal.num_tokens == 0:
        return MISSING_LIKELIHOOD
    return math.exp(max(proposal.logprob_sum / proposal.num_tokens, -50.0))


def merge_proposals(
    proposals: Sequence[tuple[int, float, Proposal]],
    existing_steps: Sequence[str] = (),
) -> list[Candidate]:
    """Merge one leaf's proposals into distinct candidates.

    ``proposals`` holds ``(teacher_id, teacher_probability, proposal)``. Proposals equal to an
    existing child (``existing_steps``) or empty after trimming are dropped. Returns candidates in
    first-seen order with priors summing to 1 (an empty list if nothing new was proposed).
    """
    known = {step_key(s) for s in existing_steps}
    merged: dict[str, Candidate] = {}
    for teacher_id, teacher_prob, proposal in proposals:
        key = step_key(proposal.text)
        if not key or key in known:
            continue
        evidence = teacher_prob * normalised_likelihood(proposal)
        candidate = merged.get(key)
        if candidate is None:
            merged[key] = Candidate(
                text=proposal.text,
                prior=evidence,
                teachers=[proposal.teacher],
                teacher_ids=[teacher_id],
                tokens=proposal.num_tokens,
                ended=proposal.finish_reason == "eos",
            )
            continue
        candidate.prior += evidence
        if proposal.teacher not in candidate.teachers:
            candidate.teachers.append(proposal.teacher)
            candidate.teacher_ids.append(teacher_id)
        candidate.ended = candidate.ended or proposal.finish_reason == "eos"
    total = sum(c.prior for c in merged.values())
    candidates = list(merged.values())
    for c in candidates:
        c.prior = c.prior / total if total > 0 else 1.0 / len(candidates)
    return candidates


def leaf_candidates(
    proposals: Sequence[tuple[int, Proposal]], probabilities: Sequence[float], existing_steps: Sequence[str], step: StepRule
) -> list[Candidate]:
    """One leaf's merged candidates, each proposal first made the step its teacher wrote
    (:meth:`StepRule.step_text`: the stop string it stopped at given back, a regex step cut after its match)."""
    steps = []
    for t, p in proposals:
        text = step.step_text(p)
        cut = len(text) < len(p.text)  # a regex step ends before the teacher stopped: not at its end-of-sequence
        steps.append((t, float(probabilities[t]), dataclasses.replace(p, text=text, finish_reason="stop" if cut else p.finish_reason)))
    return merge_proposals(steps, existing_steps)


def admit(waiting: Sequence[Candidate], fresh: Sequence[Candidate], room: int) -> tuple[list[Candidate], list[Candidate]]:
    """Progressive widening: of the candidates held back earlier (``waiting``) and the ``fresh`` ones,
    the leaf takes at most ``room`` (``-1``: no limit; at least one), most probable first.
    Returns ``(taken, still_waiting)``."""
    ordered = sorted([*waiting, *fresh], key=lambda c: -c.prior)
    take = len(ordered) if room < 0 else max(room, 1)
    return ordered[:take], ordered[take:]
