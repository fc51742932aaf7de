"""DPO and ORPO on the trees' chosen/rejected pairs, with TRL's trainers (the ``dpo`` extra).

DPO: Rafailov et al. 2023 (arXiv 2305.18290), ``trl.DPOTrainer`` with a frozen copy of the start
policy as reference. ORPO: Hong et al. 2024 (arXiv 2403.07691), ``trl.experimental.orpo`` (TRL
>= 1.0): no reference, an odds-ratio term on top of the chosen side's NLL.

Pairs are ``mcts-llm export-pairs`` rows (``prompt``, ``chosen``, ``rejected``, ``task_id``); export
them with ``--to-terminal`` (TRL ends every completion with EOS). A share of the *tasks* is held
out, and the held-out preference margin — mean over pairs of log p(chosen | prompt) − log p(rejected
| prompt) under the policy, in nats — is measured before and after training.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcts.files import atomic_write_text, read_json_objects
from mcts.train.loop import TrainSettings, load_policy, pick_device
from mcts.train.policy import Completion, encode, token_logprobs

PREFERENCE_ALGOS = ("dpo", "orpo")
RESULT_FILE = "preference.json"


@dataclass(frozen=True)
class PreferenceConfig:
    """DPO/ORPO settings: ``beta`` (DPO's KL strength; ORPO's odds-ratio weight λ) and the share of
    tasks whose pairs are held out for the margin report (by a hash of ``task_id``: deterministic)."""

    beta: float = 0.1
    heldout_fraction: float = 0.2
    # DPO only: weight of an NLL term on the chosen side (RPO, Pang et al. 2024, arXiv 2404.19733),
    # which keeps DPO from lowering the chosen answers' likelihood along with the rejected ones'.
    sft_weight: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"beta must be > 0, got {self.beta}")
        if not (math.isfinite(self.sft_weight) and self.sft_weight >= 0):
            raise ValueError(f"sft_weight must be >= 0, got {self.sft_weight}")
        if not 0 <= self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}")


@dataclass(frozen=True)
class PreferenceResult:
    out_dir: Path
    train_pairs: int
    heldout_pairs: int
    margin_before: float  # NaN without held-out pairs
    margin_after: float
    steps: int


def load_pairs(path: str | Path) -> list[dict]:
    """Rows with string ``prompt`` / ``chosen`` / ``rejected`` (``task_id`` optional); errors name the line."""
    rows = []
    for where, row in read_json_objects(Path(path), ValueError, "pairs file"):
        for key in ("prompt", "chosen", "rejected"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise ValueError(f"{where}: field {key!r} must be a non-empty string (write pairs with `mcts-llm export-pairs`)")
        rows.append({"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"],
                     "task_id": str(row.get("task_id", ""))})
    if not rows:
        raise ValueError(f"{path} holds no pairs; lower export-pairs' --margin or search longer")
    return rows


def split_pairs(rows: Sequence[dict], heldout_fraction: float) -> tuple[list[dict], list[dict]]:
    """(train, held out): a task's pairs all go to one side, chosen by a hash of its id."""
    cut = int(round(heldout_fraction * 1000))
    heldout = [r for r in rows if zlib.crc32(r["task_id"].encode()) % 1000 < cut]
    train = [r for r in rows if zlib.crc32(r["task_id"].encode()) % 1000 >= cut]
    return train, heldout


def preference_margin(model, tokenizer, rows: Sequence[dict], *, device, max_length: int, batch_size: int = 32) -> float:
    """Mean log p(chosen | prompt) − log p(rejected | prompt) in nats (NaN for no rows)."""
    import torch

    if not rows:
        return math.nan
    completions = [Completion(r["prompt"], ((r[side], True),)) for r in rows for side in ("chosen", "rejected")]
    sums: list[float] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(completions), batch_size):
            batch = encode(tokenizer, completions[start : start + batch_size], max_length).to(device)
            sums += (token_logprobs(model, batch) * batch.loss_mask).sum(-1).tolist()
    return sum(sums[0::2]) / len(rows) - sum(sums[1::2]) / len(rows)


def train_preference(
    algo: str,
    pairs: str | Path,
    policy: str | Path,
    out_dir: str | Path,
    config: PreferenceConfig | None = None,
    settings: TrainSettings | None = None,
) -> PreferenceResult:
    """Trains ``policy`` (an HF dir or bundled name) with TRL's DPO or ORPO on the pairs file and
    saves it to ``out_dir`` (loads as a teacher ``hf:OUT``) with ``preference.json`` (margins, TRL's
    log). Seeded by ``settings.seed``."""
    if algo not in PREFERENCE_ALGOS:
        raise ValueError(f"algo must be one of {PREFERENCE_ALGOS}, got {algo!r}")
    config, settings = config or PreferenceConfig(), settings or TrainSettings()
    try:
        from datasets import Dataset
    except ImportError as err:  # pragma: no cover - the dpo extra is installed in CI
        raise ImportError("DPO/ORPO need TRL and datasets: pip install 'mcts-llm[dpo]'") from err
    rows = load_pairs(pairs)
    train_rows, heldout_rows = split_pairs(rows, config.heldout_fraction)
    if not train_rows:
        raise ValueError(f"every pair of {pairs} is held out; lower heldout_fraction")
    device = pick_device(settings.device)
    model, tokenizer = load_policy(policy, device)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    before = preference_margin(model, tokenizer, heldout_rows, device=device, max_length=settings.max_length)
    common = dict(
        output_dir=str(out_dir), num_train_epochs=settings.epochs, learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size, max_grad_norm=settings.max_grad_norm,
        weight_decay=settings.weight_decay, max_length=settings.max_length, beta=config.beta, seed=settings.seed,
        logging_steps=1, save_strategy="no", report_to="none", use_cpu=device.type == "cpu",
        gradient_checkpointing=False, disable_tqdm=True,
    )
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in train_rows])
    if algo == "dpo":
        from trl import DPOConfig, DPOTrainer

        losses = dict(loss_type=["sigmoid", "sft"], loss_weights=[1.0, config.sft_weight]) if config.sft_weight else {}
        trainer = DPOTrainer(model=model, args=DPOConfig(**common, **losses), train_dataset=dataset,
                             processing_class=tokenizer)
    else:
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        trainer = ORPOTrainer(model=model, args=ORPOConfig(**common), train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    model = trainer.model
    after = preference_margin(model, tokenizer, heldout_rows, device=device, max_length=settings.max_length)
    out = Path(out_dir)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    result = PreferenceResult(out, len(train_rows), len(heldout_rows), before, after, int(trainer.state.global_step))
    atomic_write_text(out / RESULT_FILE, json.dumps({
        "algo": algo, "pairs": str(pairs), "policy": str(policy), "train_pairs": result.train_pairs,
        "heldout_pairs": result.heldout_pairs, "heldout_margin_before": before, "heldout_margin_after": after,
        "steps": result.steps, "log": trainer.state.log_history,
    }, indent=1, allow_nan=True) + "\n")
    return result
