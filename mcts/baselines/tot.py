"""Tree of Thoughts, breadth-first (Yao et al. 2023, "Tree of Thoughts: Deliberate Problem Solving with
Large Language Models", arXiv 2305.10601), on the same teachers, judge and token budget as the search.

ToT-BFS keeps the ``breadth`` best states at each depth (b = 5 for Game of 24 in the paper): every
kept state proposes candidate next steps (here ``proposals`` samples, spread over the teachers), the
judge scores every new state (the paper's value prompt; here any ``Judge``), and the best ``b`` by
score are kept. It stops at a verified solution or when the token budget is spent. Ties (and every
state, without a judge) keep the order in which the candidates were proposed.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcts.baselines.common import BaselineResult
from mcts.baselines.frontier import Candidate, frontier_search
from mcts.search import SearchTask
from mcts.types import Judge, Teacher


def _by_value(candidate: Candidate) -> tuple[float, ...]:
    return (candidate.score,)


def tot_bfs(
    teachers: Sequence[Teacher],
    tasks: Sequence[SearchTask],
    *,
    token_budget: int,
    judge: Judge | None,
    breadth: int = 5,
    proposals: int = 4,
    **options,
) -> list[BaselineResult]:
    """ToT-BFS on every task, batched (``options``: ``max_step_tokens``, ``temperature``, ``seed``)."""
    return frontier_search(
        teachers, tasks, token_budget=token_budget, judge=judge, width=breadth, proposals=proposals, rank=_by_value, **options
    )
