"""Learning from the trees: GRPO / PPO policy updates and DPO/ORPO pairs (needs the ``hf`` extra).

Public API::

    from mcts.train import train_grpo, GRPOConfig, train_ppo, PPOConfig, TrainSettings, export_pairs

Checkpoints are Hugging Face directories (safetensors + config + tokenizer): a trained policy is
a new teacher (``hf:DIR`` or ``vllm:DIR``).
"""

from mcts.train.advantages import gae, group_advantages
from mcts.train.grpo import GRPOConfig, grouped_samples, grpo_loss, train_grpo
from mcts.train.loop import TrainResult, TrainSettings
from mcts.train.pairs import export_pairs, preference_pairs
from mcts.train.ppo import PPOConfig, ValueHead, train_ppo
from mcts.train.tree_data import PathRecord, TreeNode, collect_nodes, load_records, sibling_groups

__all__ = [
    "GRPOConfig",
    "PPOConfig",
    "PathRecord",
    "TrainResult",
    "TrainSettings",
    "TreeNode",
    "ValueHead",
    "collect_nodes",
    "export_pairs",
    "gae",
    "group_advantages",
    "grouped_samples",
    "grpo_loss",
    "load_records",
    "preference_pairs",
    "sibling_groups",
    "train_grpo",
    "train_ppo",
]
