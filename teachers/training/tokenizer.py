"""The bundled models' tokenizer: a standard Hugging Face fast tokenizer built with ``tokenizers``.

Pieces: the printable ASCII characters (so any text can be encoded), the numbers 0..255 with and
without a leading space, and the words of the countdown format (``Numbers:``, ``Target:``,
`` (left:``). The model is ``Unigram`` with equal piece scores, so encoding picks the segmentation
with the fewest pieces: ``"8-4=4 (left: 7 8 4)"`` is 10 tokens, a number is one token. No piece
contains a newline next to anything else, so the tokens of ``prompt + step1 + step2`` are the
tokens of each part concatenated: the tree's prefixes tokenize the same wherever they are cut at
the step delimiter. The decoder concatenates pieces (``Fuse``), so decoding gives the text back.
"""

from __future__ import annotations

import string
from pathlib import Path

from tokenizers import Tokenizer, decoders, models

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = (EOS_TOKEN, PAD_TOKEN, UNK_TOKEN)
MAX_NUMBER_TOKEN = 255
FORMAT_WORDS = ("Numbers:", "Target:", " (left:")
EXTRA_CHARACTERS = ("×", "÷", "−")
MODEL_MAX_LENGTH = 256


def vocabulary() -> list[str]:
    """Every piece, in id order; the special tokens come first (EOS is id 0)."""
    characters = [c for c in string.printable if c not in "\t\r\x0b\x0c"] + list(EXTRA_CHARACTERS)
    numbers = [str(i) for i in range(10, MAX_NUMBER_TOKEN + 1)]
    spaced = [f" {i}" for i in range(MAX_NUMBER_TOKEN + 1)]
    return [*SPECIAL_TOKENS, *characters, *FORMAT_WORDS, *numbers, *spaced]


def build_tokenizer():
    """A ``PreTrainedTokenizerFast`` (EOS, PAD and UNK set; left padding for batched generation)."""
    from transformers import PreTrainedTokenizerFast

    pieces = vocabulary()
    unk_id = pieces.index(UNK_TOKEN)
    core = Tokenizer(models.Unigram([(piece, -1.0) for piece in pieces], unk_id=unk_id, byte_fallback=False))
    core.decoder = decoders.Fuse()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        model_max_length=MODEL_MAX_LENGTH,
        padding_side="left",
    )


def save_tokenizer(tokenizer, directory: Path) -> None:
    """Save as ``tokenizer.json`` + ``tokenizer_config.json`` loadable by any transformers release.

    ``tokenizer_class`` is written as ``PreTrainedTokenizerFast`` (transformers 5 would write its
    new backend name, which 4.x releases, e.g. an older vLLM's, do not know).
    """
    import json

    tokenizer.save_pretrained(str(directory))
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config.pop("backend", None)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
