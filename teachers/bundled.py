"""The small models that ship with the package (``teachers/models/<name>/``): four countdown teachers,
the judge ``countdown-judge`` (``value.judge.load_judge``), and ``prose-tiny``, which writes sentences
(the real model behind ``search.step = "sentence"``).

Each is a standard Hugging Face directory (``GPT2LMHeadModel`` config, ``model.safetensors``, a
fast tokenizer with an EOS token) that the HF backend, the in-process vLLM engine and a vLLM server
all load. They are trained from scratch by ``scripts/train_bundled_models.py`` (seeded, minutes on
2 CPU cores) on text made by the countdown task's solver; see ``teachers.training``.

Reading this catalogue needs no torch: sizes come from the files and the parameter count from the
safetensors header.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"

# name -> (role, description). The teachers first, ordered best to worst skill (the policy is the
# GRPO starting point); then the judge, which answers about states instead of writing steps.
CATALOGUE: dict[str, tuple[str, str]] = {
    "countdown-expert": ("expert", "trained longest on correct solutions"),
    "countdown-policy": ("policy", "briefly trained on correct solutions: a weak start for GRPO"),
    "countdown-noisy": ("noisy", "trained on a mix of solutions, wasted steps and wrong arithmetic"),
    "countdown-format": ("format-only", "trained on random valid steps: knows the format, not the goal"),
    # The complementary pair: neither solves alone, each is right where the other slips.
    "countdown-opener": ("opener", "opens like a solution, slips on the last step's arithmetic"),
    "countdown-closer": ("closer", "slips on the first step's arithmetic, closes any good start exactly"),
    "countdown-judge": ("judge", "says whether a state can still reach the target (value.load_judge); not a teacher"),
    "prose-tiny": ("prose", "writes short sentences about a topic (search.step = \"sentence\"); not a countdown teacher"),
}
JUDGE_ROLE = "judge"


@dataclass(frozen=True)
class BundledModel:
    """One shipped model: ``path`` is its HF directory; ``size_bytes`` counts every file in it."""

    name: str
    role: str
    description: str
    path: Path
    parameters: int
    size_bytes: int

    @property
    def is_teacher(self) -> bool:
        """Whether it writes steps (a teacher) rather than judging them (``countdown-judge``)."""
        return self.role != JUDGE_ROLE


def bundled_models() -> dict[str, BundledModel]:
    """Every bundled model whose directory is present, in catalogue order (teachers by skill, then the judge)."""
    models: dict[str, BundledModel] = {}
    for name, (role, description) in CATALOGUE.items():
        path = MODELS_DIR / name
        weights = path / "model.safetensors"
        if not weights.is_file():
            continue
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        models[name] = BundledModel(name, role, description, path, safetensors_parameter_count(weights), size)
    return models


def bundled_model_path(name: str) -> Path:
    """The directory of bundled model ``name``; ``KeyError`` listing the available names otherwise."""
    models = bundled_models()
    if name not in models:
        available = ", ".join(models) or "none (run scripts/train_bundled_models.py)"
        raise KeyError(f"no bundled model named {name!r}; available: {available}")
    return models[name].path


def safetensors_parameter_count(path: Path) -> int:
    """Total elements over all tensors, read from the safetensors JSON header (no torch needed).

    Tied weights are stored once, so this matches ``sum(p.numel() for p in model.parameters())``.
    """
    with path.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_len))
    total = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        count = 1
        for dim in info["shape"]:
            count *= dim
        total += count
    return total
