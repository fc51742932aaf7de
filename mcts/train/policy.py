"""A causal LM as a policy: tokenise (context, completion) pairs and score them token by token.

The context (task prompt + steps already taken) is conditioning only. The completion is a list of
segments, each flagged whether it carries loss: a step written by the policy does; a step that
another teacher wrote may be kept as context without training on it (``policy_teachers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Completion:
    """``context`` then ``segments`` of ``(text, carries_loss)``; texts are concatenated as is."""

    context: str
    segments: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)


@dataclass
class TokenBatch:
    """Right-padded token ids, shape ``(B, L)``.

    ``loss_mask[b, t] == 1`` where token ``t`` of row ``b`` is a policy token to train on (never a
    context or pad token). ``state_index[b]`` is the position of the last context token (where a
    value head reads V(state)).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    loss_mask: torch.Tensor
    state_index: torch.Tensor

    def to(self, device: torch.device | str) -> "TokenBatch":
        return TokenBatch(*(t.to(device) for t in (self.input_ids, self.attention_mask, self.loss_mask, self.state_index)))


def tokenize_completion(tokenizer, completion: Completion, max_length: int) -> tuple[list[int], list[int], int]:
    """Token ids, loss flags and state index of one completion.

    Context and each segment are tokenised separately so a segment's tokens are exactly the tokens
    it contributes (no merge across the boundary). When too long, the *context* loses tokens on
    the left; a completion longer than ``max_length - 1`` is an error.
    """
    context_ids = list(tokenizer(completion.context, add_special_tokens=False)["input_ids"])
    if not context_ids:  # a causal LM needs one token to condition the first completion token on
        if tokenizer.eos_token_id is None:
            raise ValueError("empty context and the tokenizer has no EOS token to start from")
        context_ids = [tokenizer.eos_token_id]
    ids: list[int] = []
    flags: list[int] = []
    for text, carries_loss in completion.segments:
        seg = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids += seg
        flags += [int(carries_loss)] * len(seg)
    if len(ids) >= max_length:
        raise ValueError(
            f"completion of {len(ids)} tokens does not fit max_length={max_length}; raise max_length"
        )
    context_ids = context_ids[-(max_length - len(ids)):]
    return context_ids + ids, [0] * len(context_ids) + flags, len(context_ids) - 1


def encode(tokenizer, completions: Sequence[Completion], max_length: int = 1024) -> TokenBatch:
    """Tokenises and right-pads a batch (pad id: the tokenizer's pad, else EOS, else 0)."""
    rows = [tokenize_completion(tokenizer, c, max_length) for c in completions]
    width = max(len(ids) for ids, _, _ in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    loss_mask = torch.zeros((len(rows), width), dtype=torch.float32)
    for b, (ids, flags, _) in enumerate(rows):
        input_ids[b, : len(ids)] = torch.tensor(ids)
        attention[b, : len(ids)] = 1
        loss_mask[b, : len(ids)] = torch.tensor(flags, dtype=torch.float32)
    state_index = torch.tensor([s for _, _, s in rows], dtype=torch.long)
    return TokenBatch(input_ids, attention, loss_mask, state_index)


def token_logprobs(model, batch: TokenBatch, *, return_hidden: bool = False):
    """Per-token log-probabilities, shape ``(B, L)`` float32: entry ``t`` is
    ``log p(input_ids[t] | input_ids[:t])`` (natural log); entry 0 and pad positions are 0.

    With ``return_hidden`` also returns the last layer's hidden states ``(B, L, H)``.
    """
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        output_hidden_states=return_hidden,
        use_cache=False,
    )
    logits = out.logits[:, :-1].float()
    targets = batch.input_ids[:, 1:]
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    logps = F.pad(picked, (1, 0)) * batch.attention_mask.to(picked.dtype)
    if return_hidden:
        return logps, out.hidden_states[-1]
    return logps
