"""Tree search over LLM generation: the public API is :class:`Searcher` and the settings.

Everything outside this package uses these names; the stage modules inside are internals.
"""

from mcts.search.coalesce import RequestCoalescer
from mcts.search.config import Budget, EvaluationConfig, ExpansionConfig, JudgeConfig, SearchConfig, TerminalConfig
from mcts.search.engine import TaskSearch
from mcts.search.evaluate import Blend, Evaluation, LeafEvaluator, LeafToEvaluate, Rollout, RolloutChain, ValueEvaluator
from mcts.search.searcher import Searcher
from mcts.search.steps import split_steps
from mcts.types import SearchTask, StepOutcome

__all__ = [
    "Blend",
    "Budget",
    "Evaluation",
    "EvaluationConfig",
    "ExpansionConfig",
    "JudgeConfig",
    "LeafEvaluator",
    "LeafToEvaluate",
    "RequestCoalescer",
    "Rollout",
    "RolloutChain",
    "SearchConfig",
    "SearchTask",
    "Searcher",
    "StepOutcome",
    "TaskSearch",
    "TerminalConfig",
    "ValueEvaluator",
    "split_steps",
]
