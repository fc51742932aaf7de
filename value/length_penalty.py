"""A length penalty: the defence against rewards that grow with length (reward hacking by padding).

Accumulated rewards (``step_likelihood`` with ``aggregate="sum"``) and recall-heavy metrics favour
long outputs; this component pulls them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mcts.types import ScoredText

_UNITS: dict[str, Callable[[str], int]] = {
    "chars": len,
    "words": lambda text: len(text.split()),
}


class LengthPenalty:
    """``RewardFn``: key ``length_penalty`` in [-1, 0].

    ``penalty = -min(1, max(0, n - free) / span)`` where ``n`` is the response length in ``unit``
    (``"chars"``, ``"words"``, or a callable ``str -> int`` such as a tokenizer's length). Free up to
    ``free`` units, then linear down to -1 at ``free + span``. Give it a positive weight in the
    ensemble: a higher weight punishes length harder.
    """

    name = "length_penalty"
    keys = ("length_penalty",)

    def __init__(self, free: int = 64, span: int = 64, unit: str | Callable[[str], int] = "words") -> None:
        if free < 0:
            raise ValueError(f"LengthPenalty free must be >= 0, got {free}")
        if span < 1:
            raise ValueError(f"LengthPenalty span must be >= 1, got {span}")
        if isinstance(unit, str):
            if unit not in _UNITS:
                raise ValueError(f"LengthPenalty unit must be one of {sorted(_UNITS)} or a callable, got {unit!r}")
            self._count = _UNITS[unit]
        elif callable(unit):
            self._count = unit
        else:
            raise TypeError(f"LengthPenalty unit must be a string or a callable, got {unit!r}")
        self.free, self.span, self.unit = free, span, unit

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        return [
            {"length_penalty": -min(1.0, max(0, self._count(s.response) - self.free) / self.span)}
            for s in states
        ]
