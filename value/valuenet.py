"""Value networks V(prompt + partial text) -> scalar, trained on the backed-up values of searched trees.

Two swappable kinds behind one :class:`ValueNet` interface (``predict`` / ``save`` / ``load``):

- ``"tiny"``: a small transformer encoder over UTF-8 bytes, trained from scratch (no tokenizer
  file, any text). Reads the last ``max_length`` bytes (the recent steps matter most).
- ``"causal_lm"``: a Hugging Face causal LM's backbone (e.g. the policy) with a scalar head read
  at the last token; the backbone frozen (only the head trains) or fine-tuned.

``output="sigmoid"`` squashes to (0, 1) — right for 0/1 rewards and for Brier/ECE; ``"linear"``
for any other reward scale. Checkpoints: ``value_config.json`` + ``value.safetensors`` (+ a
``backbone/`` HF dir when fine-tuned; a frozen backbone is referenced by path). No pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from mcts.types import ScoredText
from value.calibration import CalibrationReport, calibration_report, reliability_plot
from value.value_data import Target, ValueExample, state_text

CONFIG_FILE = "value_config.json"
WEIGHTS_FILE = "value.safetensors"
BYTE_PAD = 256


@dataclass
class ValueNetConfig:
    """Architecture of a value net. ``backbone``: HF causal-LM dir (``kind="causal_lm"`` only)."""

    kind: Literal["tiny", "causal_lm"] = "tiny"
    output: Literal["sigmoid", "linear"] = "sigmoid"
    max_length: int = 256
    d_model: int = 128
    n_layer: int = 2
    n_head: int = 4
    backbone: str | None = None
    freeze_backbone: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("tiny", "causal_lm"):
            raise ValueError(f"kind must be 'tiny' or 'causal_lm', got {self.kind!r}")
        if self.output not in ("sigmoid", "linear"):
            raise ValueError(f"output must be 'sigmoid' or 'linear', got {self.output!r}")
        if self.kind == "causal_lm" and not self.backbone:
            raise ValueError("kind='causal_lm' needs backbone=<Hugging Face model dir>, e.g. the policy's")
        if self.max_length < 2 or self.d_model % self.n_head:
            raise ValueError(f"need max_length >= 2 and d_model divisible by n_head, got {self.max_length}, {self.d_model}/{self.n_head}")


class ValueNet(nn.Module):
    """Maps texts to values. Subclasses define ``encode`` (texts -> ids, mask) and ``raw`` (-> (B,))."""

    def __init__(self, config: ValueNetConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def raw(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Values of ``texts``, shape ``(B,)`` (in (0, 1) with a sigmoid output)."""
        ids, mask = self.encode(texts)
        out = self.raw(ids.to(self.device), mask.to(self.device))
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    @torch.no_grad()
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[float]:
        was_training = self.training
        self.eval()
        values: list[float] = []
        for start in range(0, len(texts), batch_size):
            values += self(texts[start : start + batch_size]).float().cpu().tolist()
        self.train(was_training)
        return values

    def _weights_to_save(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        save_file(self._weights_to_save(), str(out / WEIGHTS_FILE))
        (out / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        return out

    @staticmethod
    def load(directory: str | Path, device: str | torch.device | None = None) -> "ValueNet":
        from safetensors.torch import load_file

        path = Path(directory)
        if not (path / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{path} holds no {CONFIG_FILE}; pass a directory written by ValueNet.save")
        config = ValueNetConfig(**json.loads((path / CONFIG_FILE).read_text()))
        if config.kind == "causal_lm" and config.backbone == "backbone":
            config.backbone = str(path / "backbone")
        net = build_value_net(config)
        head_only = config.kind == "causal_lm" and config.freeze_backbone
        net.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=not head_only)
        return net.to(device or "cpu")


def _right_pad(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` of shape ``(B, max_len)``; an empty row becomes one ``pad`` token (masked in)
    so every row has a last token to read."""
    rows = [r or [pad] for r in rows]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = torch.tensor(row)
        mask[b, : len(row)] = 1
    return ids, mask


class TinyValueNet(ValueNet):
    """A byte-level transformer encoder, mean-pooled, with a linear head."""

    def __init__(self, config: ValueNetConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(BYTE_PAD + 1, config.d_model, padding_idx=BYTE_PAD)
        self.position = nn.Embedding(config.max_length, config.d_model)
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.n_head, dim_feedforward=4 * config.d_model, dropout=0.0,
            batch_first=True, norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.n_layer, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, 1)

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return _right_pad([list(t.encode("utf-8")[-self.config.max_length:]) for t in texts], BYTE_PAD)

    def raw(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed(input_ids) + self.position(positions)
        x = self.encoder(x, src_key_padding_mask=attention_mask == 0)
        m = attention_mask.unsqueeze(-1).to(x.dtype)
        pooled = (self.norm(x) * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


class CausalLMValueNet(ValueNet):
    """A causal LM's backbone (``model.base_model``) with a scalar head on the last token's state."""

    def __init__(self, config: ValueNetConfig) -> None:
        super().__init__(config)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from teachers.loading import load_causal_lm

        self.tokenizer = AutoTokenizer.from_pretrained(str(config.backbone))
        if _has_weights(Path(config.backbone)):
            lm, _ = load_causal_lm(config.backbone, dtype=torch.float32, role="value-net backbone")
        else:  # a saved fine-tuned value net: architecture here, weights in value.safetensors
            from transformers import AutoConfig

            lm = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(config.backbone)))
        self.backbone = lm.base_model
        self.backbone.requires_grad_(not config.freeze_backbone)
        self.head = nn.Linear(lm.config.hidden_size, 1)
        nn.init.zeros_(self.head.bias)

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [list(self.tokenizer(t, add_special_tokens=False)["input_ids"])[-self.config.max_length:] for t in texts]
        return _right_pad(rows, self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0)

    def raw(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_backbone):
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        last = attention_mask.sum(-1) - 1
        state = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        return self.head(state.float()).squeeze(-1)

    def _weights_to_save(self) -> dict[str, torch.Tensor]:
        if self.config.freeze_backbone:  # the backbone stays where config.backbone points
            return {f"head.{k}": v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        return super()._weights_to_save()

    def save(self, directory: str | Path) -> Path:
        out = super().save(directory)
        config = json.loads((out / CONFIG_FILE).read_text())
        if self.config.freeze_backbone:
            config["backbone"] = str(Path(self.config.backbone).resolve())
        else:  # weights are all in value.safetensors; backbone/ keeps the architecture and tokenizer
            from transformers import AutoConfig

            AutoConfig.from_pretrained(str(self.config.backbone)).save_pretrained(str(out / "backbone"))
            self.tokenizer.save_pretrained(str(out / "backbone"))
            config["backbone"] = "backbone"
        (out / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return out


def _has_weights(directory: Path) -> bool:
    names = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
    return any((directory / n).exists() for n in names)


def build_value_net(config: ValueNetConfig | None = None, **overrides) -> ValueNet:
    """A fresh (randomly initialised head / encoder) value net of ``config.kind``."""
    config = config or ValueNetConfig(**overrides)
    return TinyValueNet(config) if config.kind == "tiny" else CausalLMValueNet(config)


def _targets(net: ValueNet, examples: Sequence[ValueExample], target: Target) -> torch.Tensor:
    values = torch.tensor([e.target(target) for e in examples], dtype=torch.float32)
    if net.config.output == "sigmoid" and bool(((values < 0) | (values > 1)).any()):
        raise ValueError(
            f"target {target!r} has values outside [0, 1] ({float(values.min()):.3g}..{float(values.max()):.3g}); "
            "a sigmoid net cannot fit them: build the net with output='linear'"
        )
    return values


def train_value(
    net: ValueNet,
    train: Sequence[ValueExample],
    *,
    target: Target = "q",
    held_out: Sequence[ValueExample] = (),
    epochs: int = 20,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    weight_by_visits: bool = False,
    restore_best: bool = False,
    seed: int = 0,
    device: str | None = None,
) -> list[dict[str, float]]:
    """Fits ``net`` to ``target`` by mean squared error (AdamW); returns one row per epoch:
    ``{"epoch", "train_mse", "held_out_mse"}`` (the last NaN without held-out data).

    ``weight_by_visits`` weights each node by ``log(1 + visits + terminals)``: a target averaged over
    more samples (visits, and terminals below the node for tree examples) is less noisy.
    ``restore_best`` (needs ``held_out``) ends with the weights of the epoch with the lowest held-out
    MSE (early stopping on a dev split: no test data involved).
    Shuffling consumes a generator seeded by ``seed``; CUDA is used when available.
    """
    if restore_best and not held_out:
        raise ValueError("restore_best=True needs held_out examples to pick the best epoch on")
    if not train:
        raise ValueError("no training examples; does the run's trajectories.jsonl hold any steps?")
    net.to(torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    targets = _targets(net, train, target)
    weights = torch.log1p(torch.tensor([float(e.visits + e.terminals) for e in train])) if weight_by_visits else torch.ones(len(train))
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    texts = [e.text for e in train]
    history = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(epochs):
        net.train()
        total, count = 0.0, 0
        for batch in torch.randperm(len(train), generator=generator).split(batch_size):
            idx = batch.tolist()
            pred = net([texts[i] for i in idx])
            w = weights[idx].to(pred.device)
            loss = (w * (pred - targets[idx].to(pred.device)) ** 2).sum() / w.sum().clamp(min=1e-8)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        held_mse = float("nan")
        if held_out:
            pred = torch.tensor(net.predict([e.text for e in held_out]))
            held_mse = float(((pred - _targets(net, held_out, target)) ** 2).mean())
        history.append({"epoch": epoch + 1, "train_mse": total / count, "held_out_mse": held_mse})
        if restore_best and (best is None or held_mse < best[0]):
            best = (held_mse, {k: v.detach().clone() for k, v in net.state_dict().items()})
    if best is not None:
        net.load_state_dict(best[1])
    net.eval()
    return history


def evaluate_value(
    net: ValueNet,
    examples: Sequence[ValueExample],
    *,
    target: Target = "q",
    n_bins: int = 10,
    plot_path: str | Path | None = None,
) -> CalibrationReport:
    """Calibration of ``net`` on (held-out) examples: MSE vs ``target``, Brier and ECE vs the
    observed solve rate, Spearman vs the Monte-Carlo return; optionally a reliability PNG."""
    if not examples:
        raise ValueError("no examples to evaluate on (is the held-out split empty? use more tasks)")
    predictions = net.predict([e.text for e in examples])
    outcomes = [e.outcome for e in examples]
    report = calibration_report(
        predictions, [e.target(target) for e in examples], outcomes, [e.mc_return for e in examples], n_bins
    )
    if plot_path is not None:
        reliability_plot(predictions, outcomes, plot_path, n_bins)
    return report


class ValueNetFn:
    """Adapter to the search's :class:`mcts.types.ValueFn`: ``value(states) -> list[float]``."""

    def __init__(self, net: ValueNet, batch_size: int = 64) -> None:
        self.net = net.eval()
        self.batch_size = batch_size

    def value(self, states: Sequence[ScoredText]) -> list[float]:
        return self.net.predict([state_text(s.prompt, s.steps) for s in states], self.batch_size)
