"""Dynamic weights over an ensemble of teachers (SPEC.md item 3), backed by the native core.

The scheme (``csrc/teacher_weights.h`` has the formulas):

* every teacher starts at score 0, i.e. probability 1/N;
* a credited outcome moves the teacher's score by an exponential moving average (a low-pass
  filter): ``s += ema_rate * (outcome - s)``; ``credit_path`` credits every teacher on a path,
  the step ``k`` places before the leaf with rate ``ema_rate * gamma**k``;
* ``probabilities()`` = softmax(scores / temperature), then projected (Euclidean) onto
  ``floor <= p <= max_weight, sum p = 1``: the exploration floor and the dominance cap;
* ``sample(k)`` draws with a UCB-style anti-stale bonus ``p * (1 + stale_bonus * sqrt(ln(1 + d)))``
  (d = draws since the teacher was last picked), mixed with ``epsilon`` uniform exploration; a
  teacher unpicked for ``max_stale_draws`` draws is forced in, so none goes more than
  ``stale_bound = max_stale_draws + N - 1`` consecutive draws unpicked.

Randomness: ``sample`` consumes one draw of a SplitMix64 generator seeded by ``seed`` per pick;
the same seed and call sequence give the same picks. The generator state saves with the tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mcts import _core
from mcts.tree import _as_ids as as_ids


@dataclass(frozen=True)
class WeightsConfig:
    """The settings of a ``TeacherWeights`` (after defaults are resolved for N teachers)."""

    ema_rate: float
    temperature: float
    floor: float
    epsilon: float
    max_weight: float
    stale_bonus: float
    max_stale_draws: int
    gamma: float


class TeacherWeights:
    """Probabilities over N teachers, learned from credited outcomes.

    ``teachers``: the number of teachers (named ``teacher0``..) or their unique names.
    Defaults: ``floor = 0.1 / N``; ``max_weight = 0.9`` (1.0 for one teacher);
    ``max_stale_draws = 10 * N``. Outcomes are any finite floats (e.g. +1 success, -1 failure);
    ``temperature`` is in the same units as the outcomes.
    """

    def __init__(
        self,
        teachers: int | Sequence[str],
        *,
        ema_rate: float = 0.1,
        temperature: float = 0.25,
        floor: float | None = None,
        epsilon: float = 0.05,
        max_weight: float | None = None,
        stale_bonus: float = 0.5,
        max_stale_draws: int | None = None,
        gamma: float = 0.9,
        seed: int = 0,
    ) -> None:
        if isinstance(teachers, (int, np.integer)):
            if teachers < 1:
                raise ValueError(f"need at least one teacher, got {teachers}")
            names = [f"teacher{i}" for i in range(int(teachers))]
        else:
            names = list(teachers)
            if not all(isinstance(name, str) for name in names):
                raise TypeError("teacher names must be str")
        n = len(names)
        if not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
        self._native = _core.TeacherWeights(
            names=names,
            ema_rate=float(ema_rate),
            temperature=float(temperature),
            floor=0.1 / max(n, 1) if floor is None else float(floor),
            epsilon=float(epsilon),
            max_weight=(1.0 if n == 1 else 0.9) if max_weight is None else float(max_weight),
            stale_bonus=float(stale_bonus),
            max_stale_draws=10 * n if max_stale_draws is None else int(max_stale_draws),
            gamma=float(gamma),
            seed=int(seed),
        )
        self._index = {name: i for i, name in enumerate(names)}

    @classmethod
    def _wrap(cls, native: _core.TeacherWeights) -> TeacherWeights:
        weights = cls.__new__(cls)
        weights._native = native
        weights._index = {name: i for i, name in enumerate(native.names())}
        return weights

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        probs = ", ".join(f"{n}={p:.3f}" for n, p in zip(self.names, self.probabilities()))
        return f"TeacherWeights({probs})"

    @property
    def config(self) -> WeightsConfig:
        return WeightsConfig(*self._native.config())

    @property
    def stale_bound(self) -> int:
        """No teacher goes more than this many consecutive draws without being picked."""
        return int(self._native.stale_bound())

    def index(self, teacher: int | str) -> int:
        """The index of a teacher given by name or index."""
        if isinstance(teacher, str):
            if teacher not in self._index:
                raise KeyError(f"no teacher named {teacher!r}; teachers are {list(self._index)}")
            return self._index[teacher]
        return int(teacher)

    def probabilities(self) -> npt.NDArray[np.float64]:
        """float64[N]: softmax(scores / temperature) projected onto the floor and the cap."""
        return self._native.probabilities()

    def sampling_probabilities(self) -> npt.NDArray[np.float64]:
        """float64[N]: what the next draw uses (anti-stale bonus and epsilon included), unless
        a teacher has reached ``max_stale_draws`` and is forced."""
        return self._native.sampling_probabilities()

    def sample(self, k: int = 1) -> npt.NDArray[np.int32]:
        """int32[k]: k teacher indices drawn one after another (consumes k RNG draws)."""
        return self._native.sample(int(k))

    def update(self, teacher: int | str, outcome: float) -> None:
        """Credits one outcome to one teacher (EMA step) and records a history row."""
        self._native.update(self.index(teacher), float(outcome))

    def credit_path(self, teachers: Sequence[int] | npt.NDArray[np.integer], outcome: float) -> None:
        """Credits ``outcome`` to the teacher of every step of a path (root..leaf order).

        The last step gets rate ``ema_rate``, the one before ``ema_rate * gamma``, and so on.
        -1 (``NO_TEACHER``, the root) is skipped. One history row per call.
        """
        self._native.credit_path(as_ids(np.asarray(teachers).reshape(-1), "teachers"), float(outcome))

    def scores(self) -> npt.NDArray[np.float64]:
        """float64[N]: the EMA scores."""
        return self._native.state()[0]

    def draws_since_pick(self) -> npt.NDArray[np.int64]:
        return self._native.state()[1]

    def pick_counts(self) -> npt.NDArray[np.int64]:
        return self._native.state()[2]

    @property
    def draws(self) -> int:
        return int(self._native.state()[3])

    def history(self) -> npt.NDArray[np.float64]:
        """float64[T, N]: probabilities at construction and after every update / credit_path."""
        return self._native.state()[5]
