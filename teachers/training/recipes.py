"""What each bundled model is trained on, and how long: one :class:`Recipe` per model.

Sizes are GPT-2 blocks of width 128 with two heads (head dimension 64: vLLM's CPU attention
kernels support only some head sizes). Skill differs by data and by training length.
"""

from __future__ import annotations

from dataclasses import dataclass

from teachers.training.data import DATA_KINDS
from teachers.training.judge_data import JUDGE_DATA_KIND
from teachers.training.prose_data import PROSE_DATA_KIND

# The teachers' kinds (``teachers.training.data``), the judge's (``teachers.training.judge_data``) and
# the prose model's (``teachers.training.prose_data``).
TRAINING_KINDS: tuple[str, ...] = (*DATA_KINDS, JUDGE_DATA_KIND, PROSE_DATA_KIND)


@dataclass(frozen=True)
class Recipe:
    """``steps`` optimizer steps of ``batch_size`` texts from ``data`` (see ``teachers.training.data``),
    from fresh weights or, with ``init_from``, from a bundled model trained before it (same sizes).

    ``focus_steps`` (the judge's kind only): then that many steps more on its focus stream (one-step
    states of the benchmark's kind, ``teachers.training.judge_data.FOCUS_DEPTH_ODDS``), with a fresh
    optimizer and learning-rate schedule, so the run so far is the same with or without them."""

    name: str
    data: str
    n_layer: int
    steps: int
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    n_embd: int = 128
    n_head: int = 2
    init_from: str | None = None
    focus_steps: int = 0

    def __post_init__(self) -> None:
        if self.focus_steps and self.data != JUDGE_DATA_KIND:
            raise ValueError(f"recipe {self.name!r}: focus_steps is for the judge's data kind only")
        if self.data not in TRAINING_KINDS:
            raise ValueError(f"recipe {self.name!r}: data must be one of {TRAINING_KINDS}, got {self.data!r}")
        if self.n_embd % self.n_head or self.n_embd // self.n_head != 64:
            raise ValueError(f"recipe {self.name!r}: head dimension must be 64 for vLLM CPU kernels")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"recipe {self.name!r}: steps and batch_size must be >= 1")


RECIPES: tuple[Recipe, ...] = (
    Recipe("countdown-expert", data="solution", n_layer=3, steps=1200, seed=1),
    Recipe("countdown-noisy", data="noisy", n_layer=2, steps=500, seed=2),
    Recipe("countdown-format", data="walk", n_layer=1, steps=200, seed=3),
    Recipe("countdown-policy", data="solution", n_layer=2, steps=450, seed=4),
    # The complementary pair (issue 13): the expert's size and steps, each on its half of the job.
    Recipe("countdown-opener", data="opener", n_layer=3, steps=1200, seed=7),
    Recipe("countdown-closer", data="closer", n_layer=3, steps=1200, seed=8),
    # The judge: loss on verdict tokens only (one per state), so larger batches. It reads a state as the
    # numbers left (a view of 8-10 tokens), so steps are cheap. It starts from the expert, whose number
    # embeddings already know the arithmetic: from fresh weights the one-step question (can these three
    # numbers make the target) stayed near chance even on the judge's own training states; from the
    # expert's they are learned (RESULTS "Judge quality").
    # After 5000 mixed steps it still knew only 82 % of its own one-step Game-of-24 states (balanced),
    # so 2500 focused steps follow (RESULTS "Judge quality").
    Recipe("countdown-judge", data="judge", n_layer=3, steps=5000, batch_size=256, learning_rate=2e-3, seed=5,
           init_from="countdown-expert", focus_steps=2500),
    # Sentences, not countdown: search.step = "sentence" on a real model. One narrow block, under 1 MB.
    Recipe("prose-tiny", data="prose", n_layer=1, n_embd=64, n_head=1, steps=300, batch_size=32, seed=6),
)


def recipe(name: str) -> Recipe:
    for candidate in RECIPES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no recipe named {name!r}; known: {', '.join(r.name for r in RECIPES)}")
