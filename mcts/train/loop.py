"""The training loop shared by GRPO and PPO: load, score once, update in minibatches, checkpoint.

1. *Rollout*: the data are fixed (the search already ran), so the log-probabilities of the policy
   before the update (``old``) and of the frozen reference (``ref``) are computed once per
   sample and cached in ``rollout.safetensors`` — the reference model never sits in memory while
   training, and a resumed run sees the same ``old`` / ``ref`` it started with.
2. *Update*: ``epochs`` passes over seeded minibatches; the algorithm supplies the loss.
3. *Checkpoint* into ``out_dir``: the policy as a Hugging Face directory (``model.safetensors``,
   config, tokenizer: loads with ``AutoModelForCausalLM.from_pretrained`` and as a teacher
   ``hf:DIR`` / ``vllm:DIR``), ``optimizer.pt`` (tensors only, read back with
   ``weights_only=True``), ``training_state.json`` (the commit point: see ``save_checkpoint``),
   ``metrics.csv`` / ``metrics.png``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from mcts.train.metrics import MetricsLog, plot_metrics
from mcts.train.policy import Completion, TokenBatch, encode, token_logprobs

STATE_FILE = "training_state.json"
ROLLOUT_FILE = "rollout.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
HEAD_FILE = "value_head.safetensors"


@dataclass
class TrainSettings:
    """Optimisation settings common to GRPO and PPO. ``device=None`` picks CUDA when available."""

    learning_rate: float = 1e-5
    batch_size: int = 8
    epochs: int = 1
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    max_length: int = 512
    save_every: int = 0
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("batch_size", "epochs", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.save_every < 0:
            raise ValueError(f"save_every must be >= 0 (0 = only at the end), got {self.save_every}")


@dataclass
class TrainResult:
    """Where the trained policy lies and what the run measured (last row of ``metrics.csv``).

    ``update_seconds``: wall time of the optimiser steps this call ran (scoring, loading and
    checkpointing excluded; the device is synchronised before the clock stops); ``steps_run``:
    how many they were (fewer than ``steps`` when a run resumed).
    """

    out_dir: Path
    steps: int
    samples: int
    final_metrics: dict[str, float] = field(default_factory=dict)
    update_seconds: float = 0.0
    steps_run: int = 0

    @property
    def seconds_per_step(self) -> float:
        return self.update_seconds / self.steps_run if self.steps_run else float("nan")


@dataclass
class Rollout:
    """Per-sample data fixed before the update. ``old[i]`` / ``ref[i]``: token log-probs of sample
    ``i`` (length = its token count). ``scalars``: per-sample float tensors (advantages, rewards, ...)."""

    old: list[torch.Tensor]
    ref: list[torch.Tensor]
    scalars: dict[str, torch.Tensor]

    def token_rows(self, indices: Sequence[int], width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``old`` and ``ref`` log-probs of the samples ``indices``, right-padded to ``(B, width)``."""
        return (pad_rows([self.old[i] for i in indices], width).to(device),
                pad_rows([self.ref[i] for i in indices], width).to(device))

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        lengths = torch.tensor([t.numel() for t in self.old], dtype=torch.long)
        tensors = {"old": torch.cat(self.old), "ref": torch.cat(self.ref), "lengths": lengths}
        tensors.update({f"scalar.{k}": v.contiguous() for k, v in self.scalars.items()})
        save_file(tensors, str(path))

    @classmethod
    def load(cls, path: Path) -> "Rollout":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        lengths = tensors["lengths"].tolist()
        return cls(
            old=list(torch.split(tensors["old"], lengths)),
            ref=list(torch.split(tensors["ref"], lengths)),
            scalars={k[len("scalar."):]: v for k, v in tensors.items() if k.startswith("scalar.")},
        )


def pick_device(device: str | None = None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_policy(path: str | Path, device: torch.device):
    """A Hugging Face causal LM directory -> ``(model, tokenizer)`` on ``device`` (float32)."""
    from teachers.loading import load_causal_lm

    return load_causal_lm(path, device=device, dtype=torch.float32, role="policy")


def pad_rows(rows: Sequence[torch.Tensor], width: int) -> torch.Tensor:
    out = torch.zeros((len(rows), width), dtype=torch.float32)
    for b, row in enumerate(rows):
        out[b, : row.numel()] = row
    return out


@torch.no_grad()
def score(
    model, tokenizer, completions: Sequence[Completion], *, batch_size: int, max_length: int,
    device: torch.device, head: torch.nn.Module | None = None,
) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Token log-probs of every completion (CPU, unpadded) and, with a value head, V(state) per sample."""
    model.eval()
    logps_out: list[torch.Tensor] = []
    values = []
    for start in range(0, len(completions), batch_size):
        batch = encode(tokenizer, completions[start : start + batch_size], max_length).to(device)
        with _autocast(device):
            result = token_logprobs(model, batch, return_hidden=head is not None)
        logps, hidden = result if head is not None else (result, None)
        lengths = batch.attention_mask.sum(-1).tolist()
        logps_out += [logps[b, : lengths[b]].float().cpu() for b in range(len(lengths))]
        if head is not None:
            values.append(state_values(head, hidden, batch).float().cpu())
    return logps_out, (torch.cat(values) if head is not None else None)


def state_values(head: torch.nn.Module, hidden: torch.Tensor, batch: TokenBatch) -> torch.Tensor:
    """The value head read at the last context token of each row: shape ``(B,)``."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return head(hidden[rows, batch.state_index].float()).squeeze(-1)


def _autocast(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def epoch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Minibatches of one epoch: a permutation seeded by ``(seed, epoch)`` (same order on resume)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def read_state(out_dir: Path) -> dict | None:
    """The last committed checkpoint's state (finishing a commit a crash interrupted), or None."""
    recover_checkpoint(out_dir)
    path = out_dir / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


PARTIAL_DIR = ".partial"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(out_dir: Path, model, tokenizer, optimizer, head, state: dict) -> None:
    """Writes a checkpoint atomically, in three phases:

    1. every file into ``out_dir/.partial`` (fsynced); 2. the state file into ``.partial`` (fsynced):
    the commit point; 3. the files moved into ``out_dir``, the state file last. A crash in 1 or
    before 2 leaves the previous checkpoint whole (``.partial`` is dropped on resume); a crash in 3 is
    rolled forward on resume (:func:`recover_checkpoint`), so an update is never applied twice.
    Needs room for two copies of the checkpoint while it swaps; a clear ``OSError`` otherwise.
    """
    from safetensors.torch import save_file

    partial = out_dir / PARTIAL_DIR
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        model.save_pretrained(str(partial), safe_serialization=True)
        tokenizer.save_pretrained(str(partial))
        torch.save(optimizer.state_dict(), partial / OPTIMIZER_FILE)
        if head is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}, str(partial / HEAD_FILE))
        for item in partial.iterdir():
            _fsync_file(item)
        tmp = partial / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        _fsync_file(tmp)
        os.replace(tmp, partial / STATE_FILE)
        _fsync_dir(partial)
    except OSError as err:
        shutil.rmtree(partial, ignore_errors=True)
        free = shutil.disk_usage(out_dir).free / 2**20
        raise OSError(
            err.errno, f"could not write the checkpoint of step {state.get('step')} in {out_dir} ({err.strerror or err}; "
            f"{free:.0f} MiB free, a checkpoint swap needs room for two copies): the previous checkpoint is intact, "
            "free some space and rerun with the same --out to resume"
        ) from err
    _move_into_place(partial, out_dir)


def _move_into_place(partial: Path, out_dir: Path) -> None:
    for item in sorted(partial.iterdir(), key=lambda p: p.name == STATE_FILE):  # the state file last
        os.replace(item, out_dir / item.name)
    _fsync_dir(out_dir)
    partial.rmdir()


def recover_checkpoint(out_dir: Path) -> None:
    """After a crash: a ``.partial`` that holds its state file was committed, so its files are moved
    into place (roll forward); one without it was never committed and is dropped."""
    partial = out_dir / PARTIAL_DIR
    if not partial.is_dir():
        return
    if (partial / STATE_FILE).is_file():
        _move_into_place(partial, out_dir)
    else:
        shutil.rmtree(partial, ignore_errors=True)


LossFn = Callable[[torch.Tensor, torch.Tensor | None, TokenBatch, list[int], Rollout], tuple[torch.Tensor, dict[str, float]]]
PrepareFn = Callable[[Rollout, torch.Tensor | None], Rollout]


def train_policy(
    *,
    algo: str,
    policy: str | Path,
    out_dir: str | Path,
    completions: Sequence[Completion],
    rewards: torch.Tensor,
    settings: TrainSettings,
    loss_fn: LossFn,
    prepare: PrepareFn,
    config: dict,
    reference: str | Path | None = None,
    make_head: Callable[[int], torch.nn.Module] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Runs (or resumes) one policy update on fixed samples.

    ``prepare(rollout, values)`` adds per-sample scalars (advantages, returns) once ``old``/``ref``
    log-probs (and V(state) when ``make_head`` builds a value head) are known. ``loss_fn(logps,
    values, batch, indices, rollout)`` (``values``: V(state) per row from the head, else None) returns the loss and the metrics of one minibatch.
    Resumes when ``out_dir`` holds a ``training_state.json`` of the same algorithm.
    """
    if not completions:
        raise ValueError("no training samples: the run has no groups with a reward spread (check the margin / grouping)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(settings.device)
    state = read_state(out)
    if state is not None:
        if state.get("algo") != algo:
            raise ValueError(f"{out} holds a {state.get('algo')!r} run; resume it with that algorithm or pick a new --out")
        if state.get("samples") != len(completions):
            raise ValueError(f"{out} was trained on {state.get('samples')} samples, now {len(completions)}: different data, pick a new --out")
        model, tokenizer = load_policy(out, device)
        reference = state["reference"]
    else:
        model, tokenizer = load_policy(policy, device)
        reference = str(Path(reference or policy).resolve())
    torch.manual_seed(settings.seed)  # the value head's initial weights
    head = make_head(model.config.hidden_size).to(device) if make_head is not None else None
    if state is not None and head is not None:
        from safetensors.torch import load_file

        head.load_state_dict(load_file(str(out / HEAD_FILE)))

    if state is not None:
        rollout = Rollout.load(out / ROLLOUT_FILE)
    else:
        kw = dict(batch_size=settings.batch_size, max_length=settings.max_length, device=device)
        old, values = score(model, tokenizer, completions, head=head, **kw)
        if Path(reference).resolve() == Path(policy).resolve():
            ref = old
        else:
            ref_model, _ = load_policy(reference, device)
            ref, _ = score(ref_model, tokenizer, completions, **kw)
            del ref_model
        rollout = prepare(Rollout(old=old, ref=ref, scalars={"reward": torch.as_tensor(rewards, dtype=torch.float32)}), values)
        rollout.save(out / ROLLOUT_FILE)

    params = list(model.parameters()) + (list(head.parameters()) if head is not None else [])
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    if state is not None and (out / OPTIMIZER_FILE).is_file():
        optimizer.load_state_dict(torch.load(out / OPTIMIZER_FILE, map_location=device, weights_only=True))
    done = state["step"] if state is not None else 0
    log = MetricsLog(out / "metrics.csv", keep_steps=done)
    new_state = {"algo": algo, "step": done, "reference": reference, "samples": len(completions), "config": config}
    schedule = [(epoch, batch) for epoch in range(settings.epochs)
                for batch in epoch_order(len(completions), settings.batch_size, settings.seed, epoch)]
    last: dict[str, float] = {}
    # Dropout stays off (eval mode; gradients still flow), as TRL's ``disable_dropout``: the
    # update must score tokens with the same function as the rollout, so the ratio starts at 1.
    model.eval()
    started = time.perf_counter()
    with _progress(progress, len(schedule), done, algo) as advance:
        for step, (epoch, indices) in enumerate(schedule, start=1):
            if step <= done:
                continue
            batch = encode(tokenizer, [completions[i] for i in indices], settings.max_length).to(device)
            with _autocast(device):
                result = token_logprobs(model, batch, return_hidden=head is not None)
            logps, hidden = result if head is not None else (result, None)
            values = state_values(head, hidden, batch) if head is not None else None
            loss, stats = loss_fn(logps.float(), values, batch, indices, rollout)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
            optimizer.step()
            last = {"step": step, "epoch": epoch, "loss": float(loss.detach()), **stats,
                    "reward": float(rollout.scalars["reward"][indices].mean()), "grad_norm": float(grad_norm)}
            log.write(last)
            new_state["step"] = step
            if settings.save_every and step % settings.save_every == 0 and step < len(schedule):
                save_checkpoint(out, model, tokenizer, optimizer, head, new_state)
            advance()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    update_seconds = time.perf_counter() - started
    new_state["step"] = len(schedule)
    save_checkpoint(out, model, tokenizer, optimizer, head, new_state)
    if log.path.is_file():
        plot_metrics(log.path, out / "metrics.png")
    return TrainResult(out_dir=out, steps=len(schedule), samples=len(completions), final_metrics=last,
                       update_seconds=update_seconds, steps_run=len(schedule) - done)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, done: int, label: str):
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"{label} update", total=total, completed=done)
        yield lambda: bar.advance(task)


def settings_dict(*configs) -> dict:
    merged: dict = {}
    for c in configs:
        merged.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(c).items()})
    return merged
