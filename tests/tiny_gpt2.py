"""A tiny random GPT-2 with a char-level tokenizer, saved as a Hugging Face dir (for tests only:
real runs use the bundled models). Building one takes well under a second."""

from __future__ import annotations

from pathlib import Path

CHARS = [chr(i) for i in range(32, 127)] + ["\n"]


def char_tokenizer():
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": 0, **{c: i + 1 for i, c in enumerate(CHARS)}}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<eos>")


def build_tiny_gpt2(path: str | Path, seed: int = 0, n_layer: int = 2) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    tokenizer = char_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=256, n_embd=128, n_layer=n_layer, n_head=2,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    path = Path(path)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path


def sequence_logprob(model_dir: str | Path, context: str, completion: str) -> float:
    """log p(completion | context) under the model saved in ``model_dir`` (natural log)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mcts.train.policy import Completion, encode, token_logprobs

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    batch = encode(tokenizer, [Completion(context, ((completion, True),))])
    with torch.no_grad():
        return float((token_logprobs(model, batch) * batch.loss_mask).sum())
