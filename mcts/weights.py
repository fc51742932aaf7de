"""Dynamic weights over an ensemble of teachers (which teacher proposes next), backed by the native core.

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
import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mcts import _core
from mcts.tree import _as_ids as as_ids


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class WeightsConfig:
    """The one definition of the teacher-weight settings (TOML table ``[search.weights]``).

    ``dynamic = false`` keeps the weights at 1/N (the uniform baseline: nothing is credited).
    ``floor`` must be at most 1/N and ``max_weight`` at least 1/N for N teachers (checked by
    :meth:`build`); ``max_weight = None`` means 0.8 for two or more teachers and 1 for one.
    Out-of-range values are errors, never clamped.
    """

    dynamic: bool = True
    # A search credits a teacher a dozen times per task, mostly failures: the EMA must remember a few
    # tasks (1/0.02 = 50 credits), or the weights only reflect the last task.
    ema_rate: float = 0.02
    # Scores are success rates of credited paths, a few % on hard tasks: at 0.05 a 5-point gap is an
    # e-fold preference. (rate 0.1, temperature 0.25 left the bundled teachers near 1/N on a dev
    # puzzle set, seed 7, not the benchmark's; see benchmarks/RESULTS.md.)
    temperature: float = 0.05
    floor: float = 0.05
    epsilon: float = 0.05
    max_weight: float | None = None
    stale_bonus: float = 0.5
    max_stale_draws: int = 64
    gamma: float = 0.9

    def __post_init__(self) -> None:
        _check(isinstance(self.dynamic, bool), f"weights.dynamic must be true or false, got {self.dynamic!r}")
        _check(0 < self.ema_rate <= 1, f"weights.ema_rate must be in (0, 1], got {self.ema_rate}")
        _check(0 < self.temperature < float("inf"), f"weights.temperature must be > 0 and finite, got {self.temperature}")
        _check(0 <= self.floor <= 1, f"weights.floor must be in [0, 1/N] for N teachers, got {self.floor}")
        _check(0 <= self.epsilon <= 1, f"weights.epsilon must be in [0, 1], got {self.epsilon}")
        _check(
            self.max_weight is None or 0 < self.max_weight <= 1,
            f"weights.max_weight must be in (0, 1] or unset, got {self.max_weight}",
        )
        _check(0 <= self.stale_bonus < float("inf"), f"weights.stale_bonus must be >= 0 and finite, got {self.stale_bonus}")
        _check(self.max_stale_draws >= 1, f"weights.max_stale_draws must be >= 1, got {self.max_stale_draws}")
        _check(0 <= self.gamma <= 1, f"weights.gamma must be in [0, 1], got {self.gamma}")

    def resolved_max_weight(self, n: int) -> float:
        """``max_weight`` for ``n`` teachers (the documented default when unset)."""
        if self.max_weight is not None:
            return self.max_weight
        return 0.8 if n > 1 else 1.0

    def build(self, names: Sequence[str], seed: int = 0) -> TeacherWeights:
        """Fresh weights over ``names`` with these settings; ``ValueError`` naming the key when
        ``floor`` or ``max_weight`` cannot hold for ``len(names)`` teachers."""
        return TeacherWeights(names, config=self, seed=seed)


class TeacherWeights:
    """Probabilities over N teachers, learned from credited outcomes.

    ``teachers``: the number of teachers (named ``teacher0``..) or their unique names.
    ``config`` (default ``WeightsConfig()``) holds every setting, and keyword ``settings`` override
    its fields (``TeacherWeights(3, ema_rate=0.5)``); ``seed`` seeds the draws.
    Outcomes are any finite floats (e.g. +1 success, -1 failure); ``temperature`` is in the same
    units as the outcomes.
    """

    def __init__(
        self, teachers: int | Sequence[str], config: WeightsConfig | None = None, *, seed: int = 0, **settings: object
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
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
        config = dataclasses.replace(config or WeightsConfig(), **settings) if settings else config or WeightsConfig()
        max_weight = config.resolved_max_weight(n)
        _check(n == 0 or config.floor <= 1.0 / n, f"weights.floor = {config.floor} is above 1/N = {1.0 / n:.4g} for {n} teachers; set it in [0, {1.0 / n:.4g}]")
        _check(n == 0 or max_weight >= 1.0 / n, f"weights.max_weight = {max_weight} is below 1/N = {1.0 / n:.4g} for {n} teachers; set it in [{1.0 / n:.4g}, 1] or leave it unset")
        _check(max_weight >= config.floor, f"weights.max_weight = {max_weight} must be >= weights.floor = {config.floor}")
        _check(config.max_stale_draws >= n, f"weights.max_stale_draws = {config.max_stale_draws} must be >= N = {n} teachers")
        self._native = _core.TeacherWeights(
            names=names,
            ema_rate=float(config.ema_rate),
            temperature=float(config.temperature),
            floor=float(config.floor),
            epsilon=float(config.epsilon),
            max_weight=float(max_weight),
            stale_bonus=float(config.stale_bonus),
            max_stale_draws=int(config.max_stale_draws),
            gamma=float(config.gamma),
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
        """The native settings these weights run with (``max_weight`` resolved for their N;
        ``dynamic`` is the search's choice whether to credit them, so always True here)."""
        c = self._native.config()
        return WeightsConfig(
            dynamic=True, ema_rate=c.ema_rate, temperature=c.temperature, floor=c.floor, epsilon=c.epsilon,
            max_weight=c.max_weight, stale_bonus=c.stale_bonus, max_stale_draws=c.max_stale_draws, gamma=c.gamma,
        )

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
        return self._native.state().scores

    def draws_since_pick(self) -> npt.NDArray[np.int64]:
        return self._native.state().since_pick

    def pick_counts(self) -> npt.NDArray[np.int64]:
        return self._native.state().picks

    @property
    def draws(self) -> int:
        return int(self._native.state().draws)

    def history(self) -> npt.NDArray[np.float64]:
        """float64[T, N]: probabilities at construction and after every update / credit_path."""
        return self._native.state().history
