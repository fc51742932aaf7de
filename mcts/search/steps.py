"""Cutting generated text into steps (the search's actions)."""

from __future__ import annotations


def split_steps(text: str, delimiter: str = "\n") -> list[str]:
    """Cut generated text into steps, each keeping its delimiter; a trailing partial step stays."""
    parts = text.split(delimiter)
    steps = [p + delimiter for p in parts[:-1] if p.strip()]
    if parts[-1].strip():
        steps.append(parts[-1])
    return steps
