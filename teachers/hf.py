"""Hugging Face transformers teacher: batched ``generate`` in this process, on CPU or CUDA.

Reported log-probabilities are those of the raw model distribution (log-softmax of the logits
before temperature and top-p), the same convention as vLLM's default ``raw_logprobs``, so the
three backends agree on the same model.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
from collections.abc import Sequence
from typing import Any

from mcts.types import FinishReason, GenerationRequest, Proposal
from teachers._common import TeacherStats, check_requests, default_name, fan_out_greedy, sampled_n, trim_at_stop
from teachers.loading import load_causal_lm, require

require("torch", "hf")
require("transformers", "hf")

import torch  # noqa: E402  (after the check, so a missing package gets the install hint)
from transformers import (  # noqa: E402
    GenerationConfig,
    StoppingCriteria,
    StoppingCriteriaList,
)


# Sampling seeds torch's process-wide generator, so two HF teachers generating at once (the search
# asks all teachers concurrently, each in a worker thread) would draw from each other's seeds: one
# lock for every HF teacher keeps each seeded call reproducible.
_GLOBAL_RNG_LOCK = threading.Lock()


def _mix_seeds(*parts: object) -> int:
    """A stable 63-bit seed from any tuple of ints/None (Python's ``hash`` varies per process)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class HFTeacher:
    """A ``transformers`` causal LM as a teacher.

    Requests that share ``(temperature, top_p)`` go through one ``generate`` call (left-padded, each
    prompt repeated once per sample), in chunks of at most ``max_batch_rows`` rows; each row stops at
    its own stop strings and ``max_tokens``.
    Randomness: each ``generate`` call is seeded from its requests' seeds (or, for unseeded
    requests, from the teacher's ``seed`` and a call counter), under a forked torch RNG. Results
    are reproducible for the same batch; unlike vLLM, a request's samples also depend on which
    requests share its batch. Greedy requests (temperature 0) are decoded once and repeated ``n``
    times.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        seed: int = 0,
        max_batch_rows: int = 64,
    ) -> None:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.tokenizer = load_causal_lm(model, device=device, dtype=dtype, role="hf teacher model")
        self.name = name or default_name(model)
        self.device = device
        self.seed = seed
        self.max_batch_rows = max_batch_rows
        self.stats = TeacherStats()
        self._lock = threading.Lock()
        self._calls = itertools.count()
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self._eos_ids = frozenset([eos] if isinstance(eos, int) else (eos or []))
        pad = self.tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else next(iter(self._eos_ids), 0)

    def __repr__(self) -> str:
        return f"HFTeacher(name={self.name!r}, device={self.device!r})"

    # ----------------------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """For each request, ``request.n`` proposals (see the class docstring for batching and seeds)."""
        reqs = check_requests(requests)
        results: list[list[Proposal]] = [[] for _ in reqs]
        groups: dict[tuple[float, float], list[int]] = {}
        for i, r in enumerate(reqs):
            groups.setdefault((r.temperature, r.top_p) if r.temperature > 0 else (0.0, 1.0), []).append(i)
        sampled_tokens = 0
        with self._lock:
            for (temperature, top_p), idxs in groups.items():
                for chunk in self._row_chunks(reqs, idxs):
                    batch = self._generate_batch([reqs[i] for i in chunk], temperature, top_p)
                    for i, props in zip(chunk, batch):
                        sampled_tokens += sum(p.num_tokens for p in props)
                        results[i] = fan_out_greedy(reqs[i], props)
        self.stats.add_call(len(reqs), sum(len(p) for p in results), sampled_tokens)
        return results

    def _row_chunks(self, reqs: list[GenerationRequest], idxs: list[int]) -> list[list[int]]:
        """Consecutive requests whose sampled rows fit ``max_batch_rows`` (a larger request goes alone)."""
        chunks: list[list[int]] = [[]]
        rows = 0
        for i in idxs:
            n = sampled_n(reqs[i])
            if chunks[-1] and rows + n > self.max_batch_rows:
                chunks.append([])
                rows = 0
            chunks[-1].append(i)
            rows += n
        return chunks

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """``generate`` in a worker thread (calls are serialised: one model, one batch at a time)."""
        return await asyncio.to_thread(self.generate, requests)

    def close(self) -> None:
        """Drops the model; the teacher cannot be used afterwards."""
        self.model = None  # type: ignore[assignment]
        if self.device == "cuda":
            torch.cuda.empty_cache()

    # ----------------------------------------------------------------------------------------

    def _prompt_ids(self, index: int, request: GenerationRequest) -> list[int]:
        if request.prompt_token_ids is not None:
            ids = list(request.prompt_token_ids)
        else:
            ids = self.tokenizer(request.prompt).input_ids
        if not ids:
            raise ValueError(f"request {index} has an empty prompt; a causal LM needs at least one prompt token")
        return ids

    def _generate_batch(self, reqs: list[GenerationRequest], temperature: float, top_p: float) -> list[list[Proposal]]:
        """One ``generate`` call: each request's prompt repeated once per sampled row (request-major);
        rows run to the longest ``max_tokens`` and are cut at their own."""
        counts = [sampled_n(r) for r in reqs]
        prompts = [ids for i, r in enumerate(reqs) for ids in [self._prompt_ids(i, r)] * counts[i]]
        self.stats.add_prompt(sum(map(len, prompts)), None)
        width = max(map(len, prompts))
        input_ids = torch.full((len(prompts), width), self._pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):  # left padding: generation continues at the right edge
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=0) if temperature > 0 else {}
        config = GenerationConfig(
            max_new_tokens=max(r.max_tokens for r in reqs),
            pad_token_id=self._pad_id,
            eos_token_id=sorted(self._eos_ids) or None,
            output_logits=True,
            return_dict_in_generate=True,
            **sampling,
        )
        row_stops = [r.stop for r, n in zip(reqs, counts) for _ in range(n)]
        row_limits = [r.max_tokens for r, n in zip(reqs, counts) for _ in range(n)]
        criteria = StoppingCriteriaList([_StopStrings(self.tokenizer, row_stops, row_limits, width)])
        seed = _mix_seeds(*(r.seed for r in reqs)) if any(r.seed is not None for r in reqs) else None
        if seed is None:
            seed = _mix_seeds(self.seed, next(self._calls))
        devices = [self.device] if self.device == "cuda" else []
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(seed)
            out = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=config,
                stopping_criteria=criteria,
            )
        generated = out.sequences[:, width:].cpu()
        logprobs = torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1).cpu()
        chosen = logprobs.gather(-1, generated.unsqueeze(-1)).squeeze(-1)
        proposals = [
            self._proposal(generated[row].tolist(), chosen[row].tolist(), row_stops[row], row_limits[row])
            for row in range(generated.shape[0])
        ]
        starts = list(itertools.accumulate(counts, initial=0))
        return [proposals[starts[k] : starts[k + 1]] for k in range(len(reqs))]

    def _proposal(self, tokens: list[int], logprobs: list[float], stop: tuple[str, ...], max_tokens: int) -> Proposal:
        """Cuts one generated row where vLLM would have stopped: at EOS (kept in ``token_ids``),
        or at the first token whose text completes a stop string (kept; the text excludes it)."""
        cut, reason = min(len(tokens), max_tokens), "length"
        for k, t in enumerate(tokens[:cut]):
            if t in self._eos_ids:
                cut, reason = k + 1, "eos"
                break
        body = cut - 1 if reason == "eos" else cut
        text, found = trim_at_stop(self._decode(tokens[:body]), stop)
        if found is not None:
            lo, hi = 1, body  # the shortest prefix whose text already holds a stop string
            while lo < hi:
                mid = (lo + hi) // 2
                if trim_at_stop(self._decode(tokens[:mid]), stop)[1] is not None:
                    hi = mid
                else:
                    lo = mid + 1
            cut, reason = lo, "stop"
            text, found = trim_at_stop(self._decode(tokens[:cut]), stop)
        finish: FinishReason = reason  # type: ignore[assignment]
        lps = tuple(logprobs[:cut])
        return Proposal(
            text=text,
            token_ids=tuple(tokens[:cut]),
            logprob_sum=float(sum(lps)),
            token_logprobs=lps,
            finish_reason=finish,
            teacher=self.name,
            stop_string=found,
        )

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)


class _StopStrings(StoppingCriteria):
    """Stops each row as soon as its generated text holds one of its stop strings, or it has its own
    ``max_tokens`` (rows of one batch may have different limits).

    Only the generated part is searched (as vLLM does), never the prompt; rows are request-major.
    """

    def __init__(self, tokenizer: Any, row_stops: list[tuple[str, ...]], row_limits: list[int], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.row_stops = row_stops
        self.row_limits = row_limits
        self.prompt_width = prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self.prompt_width
        done = torch.tensor([generated >= limit for limit in self.row_limits], dtype=torch.bool, device=input_ids.device)
        rows = [row for row, stops in enumerate(self.row_stops) if stops and not done[row]]
        if rows:
            texts = self.tokenizer.batch_decode(input_ids[rows, self.prompt_width :], skip_special_tokens=True)
            for row, text in zip(rows, texts):
                done[row] = any(s and s in text for s in self.row_stops[row])
        return done
