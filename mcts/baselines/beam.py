"""Step-level beam search ranked by the judge, on the same teachers, judge and token budget as the search.

Each of the ``width`` beams proposes ``proposals`` next steps (spread over the teachers); the new
states are ranked by the judge's score, ties broken by the path's log-likelihood under the teachers
that wrote it (the classic beam-search score), and the best ``width`` are kept. Without a judge it is
plain likelihood beam search over sampled steps. Stops at a verified solution or when the token
budget is spent. (Step-level beam search with a process reward model: e.g. Snell et al. 2024,
arXiv 2408.03314.)
"""

from __future__ import annotations

from collections.abc import Sequence

from mcts.baselines.common import BaselineResult
from mcts.baselines.frontier import Candidate, frontier_search
from mcts.search import SearchTask
from mcts.types import Judge, Teacher


def _by_score_then_likelihood(candidate: Candidate) -> tuple[float, ...]:
    return (candidate.score, candidate.logprob)


def beam_search(
    teachers: Sequence[Teacher],
    tasks: Sequence[SearchTask],
    *,
    token_budget: int,
    judge: Judge | None,
    width: int = 3,
    proposals: int = 3,
    **options,
) -> list[BaselineResult]:
    """Beam search on every task, batched (``options``: ``max_step_tokens``, ``temperature``, ``seed``)."""
    return frontier_search(
        teachers, tasks, token_budget=token_budget, judge=judge, width=width, proposals=proposals,
        rank=_by_score_then_likelihood, **options,
    )
