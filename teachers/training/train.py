"""Train one bundled model from scratch and write it as a standard Hugging Face directory.

Reproducible: the data stream, the initial weights and the batches all come from the recipe's
seed (``torch.use_deterministic_algorithms``; same machine and thread count, same weights).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from teachers.training.data import TrainingText, example_stream
from teachers.training.judge_data import FOCUS_DEPTH_ODDS, FOCUS_FIRST_STEP_ODDS, JUDGE_DATA_KIND, judge_examples
from teachers.training.prose_data import PROSE_DATA_KIND, prose_examples
from teachers.training.judge_format import IGNORE_INDEX, JUDGE_CONFIG_FILE, judge_config, judge_token_rows
from teachers.training.recipes import Recipe
from teachers.training.tokenizer import MODEL_MAX_LENGTH, build_tokenizer, save_tokenizer

WARMUP_SHARE = 0.05
FINAL_LR_SHARE = 0.1


def build_model(recipe: Recipe, tokenizer, models_dir: Path | None = None):
    """A freshly initialised ``GPT2LMHeadModel`` (no dropout: the data stream never repeats exactly), or
    the model ``recipe.init_from`` read from ``models_dir`` (where this run writes its models), else
    from the bundled catalogue."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from teachers.bundled import MODELS_DIR

    if recipe.init_from is not None:
        places = [d / recipe.init_from for d in (models_dir, MODELS_DIR) if d is not None]
        source = next((p for p in places if (p / "config.json").is_file()), None)
        if source is None:
            raise FileNotFoundError(f"recipe {recipe.name!r} starts from {recipe.init_from!r}, found in none of "
                                    f"{[str(p) for p in places]}: train it first")
        model = GPT2LMHeadModel.from_pretrained(str(source))
        shape = (model.config.n_layer, model.config.n_embd, model.config.n_head)
        if shape != (recipe.n_layer, recipe.n_embd, recipe.n_head) or model.config.vocab_size != len(tokenizer):
            raise ValueError(f"recipe {recipe.name!r}: {recipe.init_from!r} is {shape}, the recipe asks "
                             f"{(recipe.n_layer, recipe.n_embd, recipe.n_head)}")
        return model

    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=MODEL_MAX_LENGTH,
        n_embd=recipe.n_embd,
        n_layer=recipe.n_layer,
        n_head=recipe.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


MICRO_BATCH_ROWS = 64  # rows of similar length per forward pass: short rows are not padded to the longest


Batch = list[tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]]


def batches(recipe: Recipe, tokenizer, focus: bool = False) -> Iterator[Batch]:
    """Endless optimizer batches of ``batch_size`` rows, each a list of ``(input_ids, attention_mask,
    labels)`` micro-batches (int64, ``[rows, longest in the micro-batch]``).

    The rows of a batch are sorted by length and cut into micro-batches of :data:`MICRO_BATCH_ROWS`, so
    a short row is padded only to its neighbours' length (the judge's states run from about 20 to 45
    tokens); the gradient is still the whole batch's (:func:`batch_loss`). Right-padded; labels are
    ``IGNORE_INDEX`` wherever there is no loss: for the teachers' kinds on the prompt (its two lines)
    and on padding, so the loss is on the response and the final EOS; for the judge's kind everywhere
    but its verdicts (``teachers.training.judge_format.judge_token_rows``). ``focus``: the judge's focus
    stream (``Recipe.focus_steps``), seeded apart from the first.
    """
    import torch

    if recipe.data == JUDGE_DATA_KIND:  # invalid steps are the checker's: the judge never reads them
        odds = {"depth_odds": FOCUS_DEPTH_ODDS, "first_step_odds": FOCUS_FIRST_STEP_ODDS} if focus else {}
        stream = judge_token_rows(judge_examples(recipe.seed + focus, invalid_share=0.0, **odds), tokenizer)
    else:
        stream = _response_rows(recipe, tokenizer)
    while True:
        rows = sorted((next(stream) for _ in range(recipe.batch_size)), key=lambda row: len(row[0]))
        batch: Batch = []
        for first in range(0, len(rows), MICRO_BATCH_ROWS):
            chunk = rows[first : first + MICRO_BATCH_ROWS]
            width = len(chunk[-1][0])
            input_ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
            labels = torch.full((len(chunk), width), IGNORE_INDEX, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for i, (ids, row_labels) in enumerate(chunk):
                input_ids[i, : len(ids)] = torch.tensor(ids)
                labels[i, : len(ids)] = torch.tensor(row_labels)
                mask[i, : len(ids)] = 1
            batch.append((input_ids, mask, labels))
        yield batch


def batch_loss(model, batch: Batch) -> float:
    """Backpropagate the batch's mean next-token cross-entropy over its labelled positions, one
    micro-batch at a time (logits only where a label is: the judge has a few per row); returns it."""
    import torch

    labelled = sum(int((labels[:, 1:] != IGNORE_INDEX).sum()) for _, _, labels in batch)
    total = 0.0
    for input_ids, mask, labels in batch:
        hidden = model.base_model(input_ids=input_ids, attention_mask=mask).last_hidden_state[:, :-1]
        targets = labels[:, 1:]
        keep = targets != IGNORE_INDEX
        logits = model.get_output_embeddings()(hidden[keep])
        loss = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum") / labelled
        loss.backward()
        total += loss.item()
    return total


def prefetched(items: Iterator, ahead: int = 4) -> Iterator:
    """``items`` made by a background thread, ``ahead`` in advance: the solver-labelled data is built in
    Python while torch computes the step (it releases the GIL), in the same order as without the thread."""
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as error:  # handed to the consumer, raised there
            ready.put((None, error))

    threading.Thread(target=produce, name="training-data", daemon=True).start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            yield item
    finally:
        stop.set()


def _response_rows(recipe: Recipe, tokenizer) -> Iterator[tuple[list[int], list[int]]]:
    """``(token ids, labels)`` for the teachers' kinds: the prompt (and any given steps) without loss,
    then what the example trains on, then EOS unless the example ends before the response does."""
    if recipe.data == PROSE_DATA_KIND:
        stream = (TrainingText(text, text.index("\n", text.index("\n") + 1) + 1) for text in prose_examples(recipe.seed))
    else:
        stream = example_stream(recipe.data, recipe.seed)
    while True:
        example = next(stream)
        context_ids = tokenizer.encode(example.text[: example.loss_from])
        trained_ids = tokenizer.encode(example.text[example.loss_from :]) + [tokenizer.eos_token_id] * example.ends
        yield context_ids + trained_ids, [IGNORE_INDEX] * len(context_ids) + trained_ids


def learning_rate(recipe: Recipe, step: int, steps: int | None = None) -> float:
    """Linear warm-up, then cosine decay to ``FINAL_LR_SHARE`` of the peak, over ``steps``
    (``recipe.steps`` by default)."""
    steps = recipe.steps if steps is None else steps
    warmup = max(1, int(WARMUP_SHARE * steps))
    if step < warmup:
        return recipe.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return recipe.learning_rate * (FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * cosine)


def train(recipe: Recipe, out_dir: Path, log: Callable[[str], None] = print) -> dict[str, float]:
    """Train ``recipe`` and write ``out_dir`` (config.json, model.safetensors, tokenizer files; judge.json
    for the judge's data kind).

    Returns ``{"final_loss", "seconds", "parameters"}``; also written to ``out_dir/training.json``.
    """
    import torch

    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True)
    tokenizer = build_tokenizer()
    model = build_model(recipe, tokenizer, out_dir.parent)
    start = time.monotonic()
    final_loss = fit(model, recipe, tokenizer, recipe.steps, log=log)
    if recipe.focus_steps:
        final_loss = focus(model, recipe, tokenizer, log=log)
    summary = {
        "final_loss": final_loss,
        "seconds": time.monotonic() - start,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    save(model, tokenizer, recipe, summary, out_dir)
    return summary


def focus(model, recipe: Recipe, tokenizer, log: Callable[[str], None] = print) -> float:
    """The judge's focus phase (``Recipe.focus_steps``) on ``model`` as the first phase left it: a fresh
    optimizer and schedule, so it gives the same weights whether run after :func:`fit` or on saved ones."""
    return fit(model, recipe, tokenizer, recipe.focus_steps, focus=True, log=log)


def fit(model, recipe: Recipe, tokenizer, steps: int, focus: bool = False,
        log: Callable[[str], None] = print) -> float:
    """``steps`` optimizer steps on ``recipe``'s data (its focus stream with ``focus``); the mean loss
    of the last 50."""
    import torch

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=(0.9, 0.98), weight_decay=0.01)
    start, recent = time.monotonic(), []
    data = prefetched(batches(recipe, tokenizer, focus=focus))
    phase = f"{recipe.name} (focus)" if focus else recipe.name
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(recipe, step, steps)
        loss = batch_loss(model, next(data))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        recent = (recent + [loss])[-50:]
        if (step + 1) % 50 == 0 or step + 1 == steps:
            log(f"{phase}: step {step + 1}/{steps} loss {sum(recent) / len(recent):.4f} "
                f"({time.monotonic() - start:.0f} s)")
    return sum(recent) / len(recent)


def save(model, tokenizer, recipe: Recipe, summary: dict[str, float], out_dir: Path) -> None:
    from dataclasses import asdict

    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(str(out_dir))
    save_tokenizer(tokenizer, out_dir)
    provenance = {"recipe": asdict(recipe), **{k: round(v, 4) for k, v in summary.items()}}
    (out_dir / "training.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    if recipe.data == JUDGE_DATA_KIND:  # how value.judge.load_judge asks this model
        (out_dir / JUDGE_CONFIG_FILE).write_text(json.dumps(judge_config(), indent=2, sort_keys=True) + "\n")
