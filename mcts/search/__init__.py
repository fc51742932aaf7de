"""Tree search over LLM generation: the public API is :class:`Searcher` and the settings.

Everything outside this package uses these names; the stage modules inside are internals.
"""

from mcts.search.config import Budget, EvaluationConfig, ExpansionConfig, JudgeConfig, SearchConfig, TerminalConfig
from mcts.search.evaluate import Blend, LeafEvaluator, Rollout, ValueEvaluator
from mcts.search.searcher import Searcher
from mcts.search.task import SearchTask, StepOutcome, split_steps

__all__ = [
    "Blend",
    "Budget",
    "EvaluationConfig",
    "ExpansionConfig",
    "JudgeConfig",
    "LeafEvaluator",
    "Rollout",
    "SearchConfig",
    "SearchTask",
    "Searcher",
    "StepOutcome",
    "TerminalConfig",
    "ValueEvaluator",
    "split_steps",
]
