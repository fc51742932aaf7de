"""One policy-update job (what ``mcts-llm train`` runs): data, models, and the algorithm's settings.

Loaded from a TOML file plus flags by ``mcts.run.config.load_toml_config(TrainJob, path, overrides)``;
the tables ``[settings]``, ``[grpo]``, ``[ppo]`` are :class:`TrainSettings`, :class:`GRPOConfig`,
:class:`PPOConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcts.train.grpo import GRPOConfig
from mcts.train.loop import TrainSettings
from mcts.train.ppo import PPOConfig
from mcts.train.preference import PreferenceConfig

ALGOS = ("grpo", "ppo", "dpo", "orpo")


@dataclass(frozen=True)
class TrainJob:
    """One ``mcts-llm train`` invocation: where the data and models are, and the algorithm's settings."""

    algo: str = "grpo"
    run: str | None = None
    pairs: str | None = None  # dpo / orpo: `mcts-llm export-pairs --to-terminal` output
    policy: str | None = None
    out: str | None = None
    reference: str | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    preference: PreferenceConfig = field(default_factory=PreferenceConfig)

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        data = ("pairs", "--pairs PAIRS.jsonl") if self.algo in ("dpo", "orpo") else ("run", "--run RUN_DIR")
        for name, flag in (data, ("policy", "--policy PATH_OR_NAME"), ("out", "--out DIR")):
            if not getattr(self, name):
                raise ValueError(f"missing {name}: pass {flag} (or set {name} = ... in the --config file)")
