"""Everything that scores text: reward metrics, the reward ensemble and its fitting, the LMGT judge.

Heavy models (sentence-transformers, causal LMs) load lazily on first use; importing ``value`` is cheap.
"""

from value.causal_lm import CausalLMScorer, Usage
from value.components import COMPONENT_KEYS, KEY_TO_COMPONENT, build_ensemble
from value.embedding import EmbeddingSimilarity, default_embedding_model_path
from value.ensemble import RewardBreakdown, RewardEnsemble, component_keys
from value.fit import FitReport, FitResult, TuningRow, TuningSetError, fit_features, fit_weights, load_tuning_set
from value.judge import LMGTJudge, LMGTJudgeConfig, LMTerminalValidator, load_judge, load_judge_config
from value.length_penalty import LengthPenalty
from value.perplexity import PerplexityReward, StepLikelihoodReward
from value.text_metrics import BleuReward, ChrfReward, RougeReward, rouge_f1, sentence_bleu, sentence_chrf
from value.verifier import VerifierReward

# Value networks need torch: imported on first access so that `import value` stays cheap.
_LAZY = {
    "ValueNet": "value.valuenet",
    "ValueNetConfig": "value.valuenet",
    "ValueNetFn": "value.valuenet",
    "build_value_net": "value.valuenet",
    "train_value": "value.valuenet",
    "evaluate_value": "value.valuenet",
    "ValueExample": "value.value_data",
    "load_value_examples": "value.value_data",
    "split_by_task": "value.value_data",
    "tree_examples": "value.tree_values",
    "collect_trees": "value.collect",
    "load_tree_examples": "value.collect",
    "reachable": "value.countdown_truth",
    "solver_metrics": "value.countdown_truth",
    "CalibrationReport": "value.calibration",
    "calibration_report": "value.calibration",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'value' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "COMPONENT_KEYS",
    "KEY_TO_COMPONENT",
    "BleuReward",
    "CausalLMScorer",
    "ChrfReward",
    "EmbeddingSimilarity",
    "FitReport",
    "FitResult",
    "LMGTJudgeConfig",
    "LMGTJudge",
    "LMTerminalValidator",
    "LengthPenalty",
    "PerplexityReward",
    "RewardBreakdown",
    "RewardEnsemble",
    "RougeReward",
    "StepLikelihoodReward",
    "TuningRow",
    "TuningSetError",
    "Usage",
    "VerifierReward",
    "build_ensemble",
    "component_keys",
    "default_embedding_model_path",
    "fit_features",
    "fit_weights",
    "load_judge",
    "load_judge_config",
    "load_tuning_set",
    "rouge_f1",
    "sentence_bleu",
    "sentence_chrf",
]
