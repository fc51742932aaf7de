"""Methods the search is compared with, on the same teachers, tasks and generated-token budgets."""

from mcts.baselines.sampling import BaselineResult, best_of_n, greedy

__all__ = ["BaselineResult", "best_of_n", "greedy"]
