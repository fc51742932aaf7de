"""Seeded prose for ``prose-tiny``: the bundled model that writes sentences, so ``search.step =
"sentence"`` (steps ending at ``. ! ?``) runs on a real model; the countdown teachers write lines.

One example: a two-line prompt (``Topic: cat`` / ``Story:``, the layout the trainer takes as the
prompt) and three to five short sentences about the topic, each ending in ``.``, ``!`` or ``?``,
separated by one space, then end-of-sequence. A tiny grammar, not language: enough to learn where a
sentence ends.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

PROSE_DATA_KIND = "prose"

TOPICS = ("cat", "dog", "bird", "fox", "fish", "cow", "frog", "duck")
PLACES = ("the mat", "the hill", "the pond", "the barn", "the road", "the tree")
VERBS = ("sat on", "ran to", "looked at", "slept by", "walked to", "sang near")
MOODS = ("happy", "sleepy", "hungry", "quiet", "brave", "small")


def sentence(topic: str, rng: random.Random) -> str:
    """One sentence about ``topic``: a statement (``.``), an exclamation (``!``) or a question (``?``)."""
    form = rng.randrange(4)
    if form == 0:
        return f"The {topic} {rng.choice(VERBS)} {rng.choice(PLACES)}."
    if form == 1:
        return f"The {topic} was {rng.choice(MOODS)}."
    if form == 2:
        return f"What a {rng.choice(MOODS)} {topic}!"
    return f"Did the {topic} go to {rng.choice(PLACES)}?"


def prose_examples(seed: int) -> Iterator[str]:
    """Endless ``prompt + story`` texts (same seed, same stream)."""
    rng = random.Random(seed)
    while True:
        topic = rng.choice(TOPICS)
        story = " ".join(sentence(topic, rng) for _ in range(rng.randint(3, 5)))
        yield f"Topic: {topic}\nStory:\n{story}"
