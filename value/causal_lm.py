"""A causal LM that scores text: per-token log-likelihoods of pieces of a sequence.

Shared by the perplexity rewards and the LMGT judge, so one model serves all of them (pass the same
``CausalLMScorer`` instance). Any local Hugging Face causal LM directory or bundled model name works;
loading is lazy, through ``teachers.loading.load_causal_lm`` (never the network).

How a sequence is scored: each piece (e.g. the prompt, then each step) is tokenized on its own
and the token ids are concatenated, so every token belongs to exactly one piece. A BOS token
(the tokenizer's ``bos_token_id``, else ``eos_token_id``) is prepended as context, so the first
token is scored too; a tokenizer with neither leaves the first token unscored. Sequences longer
than the model's context keep their last ``max_length`` tokens; tokens cut off the front are not
scored (their pieces come back shorter, possibly empty).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from teachers.loading import load_causal_lm, local_model_dir


@dataclass
class Usage:
    """Model usage counters: forward passes and tokens fed to the model (padding excluded)."""

    calls: int = 0
    tokens: int = 0

    def add(self, calls: int, tokens: int) -> None:
        self.calls += calls
        self.tokens += tokens


class CausalLMScorer:
    """Batched log-likelihoods under a local causal LM (natural log, float64 numpy arrays).

    ``batch_size`` bounds the sequences per forward pass (the logits tensor is
    batch × length × vocab floats). Results are cached per piece tuple (LRU, ``cache_size``), so two
    reward components scoring the same states cost one forward pass. Deterministic: eval mode,
    no dropout, no sampling. Thread-safe (one forward at a time).
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.model_path = local_model_dir(model_path, role="scoring model")
        if batch_size < 1:
            raise ValueError(f"CausalLMScorer batch_size must be >= 1, got {batch_size}")
        if max_length is not None and max_length < 2:
            raise ValueError(f"CausalLMScorer max_length must be >= 2 or None, got {max_length}")
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_size = cache_size
        self.usage = Usage()
        self._model: Any = None
        self._tokenizer: Any = None
        self._bos: list[int] = []
        self._cache: OrderedDict[tuple[str, ...], list[np.ndarray]] = OrderedDict()
        self._next_cache: OrderedDict[tuple[str, tuple[int, ...]], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return self.usage.calls

    @property
    def tokens(self) -> int:
        return self.usage.tokens

    @property
    def tokenizer(self) -> Any:
        self._load()
        return self._tokenizer

    def _load(self) -> None:
        if self._model is not None:
            return
        model, tokenizer = load_causal_lm(self.model_path, device=self.device, dtype="float32", role="scoring model")
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        self._bos = [int(bos)] if bos is not None else []
        context = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
        if self.max_length is None:
            self.max_length = int(context) if context else 1024
        self._tokenizer, self._model = tokenizer, model

    def piece_logprobs(
        self, batch: Sequence[Sequence[str]], usage: Usage | None = None
    ) -> list[list[np.ndarray]]:
        """For each sequence of pieces, the log-probability of each token of each piece.

        ``batch[i][j]`` is piece ``j`` of sequence ``i``; the result ``[i][j]`` is a 1-D array with
        one entry per scored token of that piece (context = BOS + all earlier pieces). ``usage``,
        when given, is charged with the forward passes and tokens this call ran (cache hits are free).
        """
        keys = [tuple(pieces) for pieces in batch]
        with self._lock:
            self._load()
            return self._through_cache(self._cache, keys, lambda todo: self._score_uncached(todo, usage))

    def _through_cache(self, cache: OrderedDict, keys: list, compute: Any) -> list:
        """Values for ``keys`` in order: cache hits (refreshed in the LRU) and ``compute(missing keys)``
        (a dict), which is then cached; the cache is trimmed to ``cache_size``. Caller holds the lock."""
        todo = list(dict.fromkeys(k for k in keys if k not in cache))
        fresh = compute(todo) if todo else {}
        out = []
        for key in keys:
            if key in fresh:
                out.append(fresh[key])
            else:
                cache.move_to_end(key)
                out.append(cache[key])
        for key, value in fresh.items():
            if self.cache_size:
                cache[key] = value
        while len(cache) > self.cache_size:
            cache.popitem(last=False)
        return out

    def next_token_logprobs(
        self, texts: Sequence[str], token_ids: Sequence[int], usage: Usage | None = None
    ) -> np.ndarray:
        """``[len(texts), len(token_ids)]`` float64: ``log p(token | BOS + text)`` for each candidate next token.

        One row per text, however many candidates: each text's logits are read at its last position,
        so a judge with single-token answers needs one forward pass per ``batch_size`` texts. Texts
        longer than the context keep their last ``max_length`` tokens. Cached per (text, candidates)
        like :meth:`piece_logprobs`; ``usage`` is charged with the forward passes and tokens run.
        """
        candidates = tuple(int(t) for t in token_ids)
        keys = [(text, candidates) for text in texts]
        with self._lock:
            self._load()
            vocab = int(self._model.get_output_embeddings().weight.shape[0])
            bad = [t for t in candidates if not 0 <= t < vocab]
            if bad:
                raise ValueError(f"token ids {bad} are outside the model's vocabulary (0..{vocab - 1})")
            rows = self._through_cache(self._next_cache, keys, lambda todo: self._next_uncached(todo, candidates, usage))
            return np.stack(rows) if rows else np.zeros((0, len(candidates)))

    def _next_uncached(
        self, keys: list[tuple[str, tuple[int, ...]]], candidates: tuple[int, ...], usage: Usage | None
    ) -> dict[tuple[str, tuple[int, ...]], np.ndarray]:
        import torch

        encoded = [self._encode((text,))[0] for text, _ in keys]
        empty = [text for (text, _), ids in zip(keys, encoded) if not ids]
        if empty:
            raise ValueError(f"cannot predict a next token after an empty text without a BOS token: {empty[:1]!r}")
        order = sorted(range(len(keys)), key=lambda i: len(encoded[i]))
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        wanted = torch.tensor(candidates, dtype=torch.long, device=self.device)
        results: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            ids, mask = _right_padded([encoded[i] for i in chunk], pad)
            last = mask.sum(dim=1) - 1  # index of each row's last real token
            with torch.inference_mode():
                logits = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                rows = logits[torch.arange(len(chunk), device=self.device), last.to(self.device)].float()
                logp = torch.log_softmax(rows, dim=-1)[:, wanted].double().cpu().numpy()
            for counter in (self.usage, usage):
                if counter is not None:
                    counter.add(1, int(mask.sum()))
            for row, i in enumerate(chunk):
                results[keys[i]] = logp[row].copy()
        return results

    def _encode(self, pieces: tuple[str, ...]) -> tuple[list[int], list[int]]:
        """Token ids (BOS first, front-truncated to max_length) and the piece index of each id (-1 = BOS)."""
        ids, owner = list(self._bos), [-1] * len(self._bos)
        if pieces:
            encoded = self._tokenizer(list(pieces), add_special_tokens=False)["input_ids"]
            for j, piece_ids in enumerate(encoded):
                ids.extend(int(t) for t in piece_ids)
                owner.extend([j] * len(piece_ids))
        assert self.max_length is not None
        return ids[-self.max_length :], owner[-self.max_length :]

    def _score_uncached(
        self, keys: list[tuple[str, ...]], usage: Usage | None
    ) -> dict[tuple[str, ...], list[np.ndarray]]:
        import torch

        encoded = [self._encode(k) for k in keys]
        # Sorting by length keeps padding low inside each forward pass.
        order = sorted(range(len(keys)), key=lambda i: len(encoded[i][0]))
        results: dict[tuple[str, ...], list[np.ndarray]] = {}
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            lengths = [len(encoded[i][0]) for i in chunk]
            width = max(lengths)
            ids, mask = _right_padded([encoded[i][0] for i in chunk], pad)
            token_lp = np.zeros((len(chunk), max(width - 1, 0)))
            if width > 1:  # a lone token has nothing to be scored against
                with torch.inference_mode():
                    logits = self._model(
                        input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
                    ).logits.float()
                    logp = torch.log_softmax(logits[:, :-1], dim=-1)
                    # token t+1's log-probability given tokens 0..t: shape (batch, width - 1)
                    token_lp = logp.gather(-1, ids[:, 1:, None].to(self.device)).squeeze(-1).double().cpu().numpy()
                for counter in (self.usage, usage):
                    if counter is not None:
                        counter.add(1, sum(lengths))
            for row, i in enumerate(chunk):
                owner = np.asarray(encoded[i][1])
                scored_owner = owner[1 : lengths[row]]  # position 0 has no context
                row_lp = token_lp[row, : lengths[row] - 1]
                results[keys[i]] = [row_lp[scored_owner == j].copy() for j in range(len(keys[i]))]
        return results


def _right_padded(rows: Sequence[Sequence[int]], pad: int) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)``, both ``[len(rows), longest]`` int64, rows right-padded with ``pad``."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask
