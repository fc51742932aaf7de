"""Greedy and best-of-k solve rates of a Hugging Face causal LM on countdown puzzles.

Used by the bundled-model tests and by ``benchmarks/teacher_backends.py``. Generation is batched
``model.generate`` (left padding); a response stops at EOS or after its final step (a puzzle of
``k`` numbers takes ``k - 1`` step lines; anything after them is cut, as the search would end the
path there), and is checked by :func:`mcts.tasks.countdown.verify`. Needs the ``hf`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcts.tasks.countdown import STEP_DELIMITER, Puzzle, Verdict, format_prompt, max_steps, verify

# Generous per-step token allowance: a canonical step is ~10 tokens; random walks reach big numbers.
TOKENS_PER_STEP = 20


@dataclass(frozen=True)
class SolveRates:
    """Share of ``puzzles`` solved by the greedy response, and by any of ``k`` sampled responses.

    ``greedy_valid_steps`` is the mean number of valid steps in the greedy responses (a skill signal
    that is non-zero even for models that never solve).
    """

    greedy: float
    best_of_k: float
    k: int
    puzzles: int
    greedy_valid_steps: float


def load_model(path: str | Path, device: str = "cpu"):
    """``(model, tokenizer)`` from a local HF directory or bundled name, in float32 eval mode, offline;
    the tokenizer pads on the left (for batched generation)."""
    from teachers.loading import load_causal_lm

    model, tokenizer = load_causal_lm(path, device=device, dtype="float32")
    tokenizer.padding_side = "left"
    return model, tokenizer


def cut_after_final_step(puzzle: Puzzle, text: str) -> str:
    """Keep the first ``max_steps(puzzle)`` lines of ``text`` (with their delimiters)."""
    end = -1
    for _ in range(max_steps(puzzle)):
        end = text.find(STEP_DELIMITER, end + 1)
        if end < 0:
            return text
    return text[: end + len(STEP_DELIMITER)]


def generate_responses(
    model,
    tokenizer,
    puzzles: Sequence[Puzzle],
    *,
    samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
    batch_size: int = 64,
) -> list[list[str]]:
    """``samples`` responses per puzzle (``[len(puzzles)][samples]``), cut after the final step.

    ``temperature == 0`` is greedy (then ``samples`` must be 1); otherwise sampling seeded by
    ``seed`` via ``torch.manual_seed`` (consumes torch's global generator).
    """
    import torch

    if temperature == 0 and samples != 1:
        raise ValueError(f"greedy decoding gives one response per puzzle; got samples={samples}")
    torch.manual_seed(seed)
    responses: list[list[str]] = []
    for start in range(0, len(puzzles), batch_size):
        chunk = puzzles[start : start + batch_size]
        encoded = tokenizer([format_prompt(p) for p in chunk], return_tensors="pt", padding=True)
        encoded = {name: tensor.to(model.device) for name, tensor in encoded.items()}
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0} if temperature > 0 else {"do_sample": False}
        with torch.inference_mode():
            output = model.generate(
                **encoded,
                max_new_tokens=TOKENS_PER_STEP * max(max_steps(p) for p in chunk) + 1,
                num_return_sequences=samples,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                **sampling,
            )
        texts = tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        for i, puzzle in enumerate(chunk):
            responses.append([cut_after_final_step(puzzle, t) for t in texts[i * samples : (i + 1) * samples]])
    return responses


def evaluate_solve_rates(
    model_or_path,
    puzzles: Sequence[Puzzle],
    *,
    k: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
) -> SolveRates:
    """Greedy and best-of-``k`` (sampled at ``temperature``, seeded) solve rates on ``puzzles``.

    ``model_or_path`` is a local HF directory or a ``(model, tokenizer)`` pair. ``k = 0`` skips sampling.
    """
    if not puzzles:
        raise ValueError("evaluate_solve_rates needs at least one puzzle")
    model, tokenizer = load_model(model_or_path) if isinstance(model_or_path, (str, Path)) else model_or_path
    greedy = [r[0] for r in generate_responses(model, tokenizer, puzzles, batch_size=batch_size)]
    greedy_verdicts = [verify(p, text) for p, text in zip(puzzles, greedy)]
    best = 0.0
    if k > 0:
        sampled = generate_responses(
            model, tokenizer, puzzles, samples=k, temperature=temperature, seed=seed, batch_size=max(1, batch_size // k)
        )
        best = _share(any(verify(p, t).solved for t in texts) for p, texts in zip(puzzles, sampled))
    return SolveRates(
        greedy=_share(v.solved for v in greedy_verdicts),
        best_of_k=best,
        k=k,
        puzzles=len(puzzles),
        greedy_valid_steps=_mean_valid_steps(greedy_verdicts),
    )


def _share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags)


def _mean_valid_steps(verdicts: Sequence[Verdict]) -> float:
    return sum(v.valid_steps for v in verdicts) / len(verdicts)
