"""Methods the search is compared with, on the same teachers, tasks and generated-token budgets.

Sampling (:mod:`.sampling`: greedy, best-of-n, the round-robin union), Tree of Thoughts BFS
(:mod:`.tot`), beam search (:mod:`.beam`) and TreeQuest's AB-MCTS (:mod:`.treequest_peer`, optional).
All are batched across tasks and counted the same way (:mod:`.common`).
"""

from mcts.baselines.beam import beam_search
from mcts.baselines.common import BaselineResult
from mcts.baselines.sampling import best_of_n, best_of_n_many, greedy
from mcts.baselines.tot import tot_bfs

__all__ = ["BaselineResult", "beam_search", "best_of_n", "best_of_n_many", "greedy", "tot_bfs"]
