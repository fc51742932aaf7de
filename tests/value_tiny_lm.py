"""A tiny GPT-2 trained in seconds, for the scoring tests (value/).

Real model code (transformers GPT-2, a byte-level BPE tokenizer from ``tokenizers``), just small:
2 layers, 64 dims, trained on ``CORPUS`` until it has memorised it, so tests can check that the
scorer sees what the model learned (trained text beats shuffled text; the judge answers " good"
for the arithmetic lines it saw judged good). Built once per test session in a temp directory.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

SENTENCES = [
    "the quick brown fox jumps over the lazy dog.",
    "a small cat sleeps on the warm red mat.",
]
# Judge lines: "<step> ok? Answer: good|bad", arithmetic facts right and wrong.
JUDGE_TEMPLATE = "{step} ok? Answer:"
GOOD_STEPS = ["2+3=5", "4*2=8", "9-4=5", "6/3=2"]
BAD_STEPS = ["2+3=6", "4*2=9", "9-4=3", "6/3=4"]
CORPUS = SENTENCES + [f"{s} ok? Answer: good" for s in GOOD_STEPS] + [f"{s} ok? Answer: bad" for s in BAD_STEPS]
SPECIAL = "<|endoftext|>"
STEPS = 200


@cache
def tiny_lm_dir() -> Path:
    """Path of the trained tiny model (built on first call; removed when the interpreter exits)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    directory = Path(tempfile.mkdtemp(prefix="tiny-lm-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=[SPECIAL], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(CORPUS + [" good", " neutral", " bad", " yes", " no"], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=SPECIAL, eos_token=SPECIAL, pad_token=SPECIAL
    )
    tokenizer.save_pretrained(directory)

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size, n_positions=64, n_embd=64, n_layer=2, n_head=2,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    encoded = [[tokenizer.bos_token_id] + tokenizer(text)["input_ids"] for text in CORPUS]
    width = max(map(len, encoded))
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(encoded):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only spin on a shared machine (25x slower here)
    try:
        for _ in range(STEPS):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(directory)
    return directory
