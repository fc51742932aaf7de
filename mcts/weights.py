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

Contexts: teachers differ in *where* they are good, so the weights may also be keyed by a small
context id ``0..max_contexts-1`` (the step's depth, or an id the task defines; ``NO_CONTEXT = -1``
is the global weights). Each context keeps its own EMA scores (the same ``ema_rate`` and ``gamma``;
a step credited in a context also moves the global scores) and its own anti-stale counters, and
backs off to the global scores while it has little evidence::

    n_c = steps credited in context c;  lambda_c = n_c / (n_c + context_prior)
    probabilities(c) = project(softmax(((1 - lambda_c) * s_global + lambda_c * s_c) / temperature))

with the same floor, cap, ``epsilon`` and anti-stale rules (the ``stale_bound`` holds for the draws
made in each context). A context nothing was credited in draws with the global probabilities.

Warm-up (``warmup``, on by default): the softmax reads each score bias-corrected, ``s_i / (1 - u_i)``
with ``u_i`` the product of ``(1 - rate)`` over teacher i's credits (Adam's correction of an EMA
that starts at 0): the rate-weighted mean of its outcomes while it has few credits, the EMA once it
has many. A teacher not credited yet reads as the mean of the credited ones (0 while none is); in a
context, as its global estimate. ``s_global`` and ``s_c`` above are these estimates. The EMA update
is the same either way; ``warmup = false`` reads the raw EMA (weights saved before it load that way).

Randomness: ``sample`` consumes one draw of a SplitMix64 generator seeded by ``seed`` per pick
(in any context: one generator); the same seed and call sequence give the same picks. The generator
state saves with the tree, and so does every context.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mcts import _core
from mcts.tree import _as_ids as as_ids

#: The context id of the global weights (``probabilities()``, ``sample(k)``, a step credited without one).
NO_CONTEXT = -1

#: Where the search takes a leaf's context from (``[search.weights] context``): nowhere (the global
#: weights only), the leaf's depth (steps from the task's start; the last context holds every deeper
#: one), or the task's ``context(steps) -> int``.
CONTEXT_MODES = ("none", "depth", "task")


def _context_id(context: int | None) -> int:
    if context is None:
        return NO_CONTEXT
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)):
        raise TypeError(f"a context id is an int (or None for the global weights), got {context!r}")
    return int(context)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class WeightsConfig:
    """The one definition of the teacher-weight settings (TOML table ``[search.weights]``).

    ``dynamic = false`` keeps the weights at 1/N (the uniform baseline: nothing is credited).
    ``context`` (one of :data:`CONTEXT_MODES`) is where the search reads a leaf's context id for
    picking and crediting; ``context_prior`` is ``k`` in the backoff ``n / (n + k)`` (see the module
    docstring) and ``max_contexts`` bounds the ids (depth contexts put every step at depth
    ``max_contexts - 1`` or deeper in the last one).
    ``floor`` must be at most 1/N and ``max_weight`` at least 1/N for N teachers (checked by
    :meth:`build`); ``max_weight = None`` means 0.9 for two or more teachers and 1 for one.
    Out-of-range values are errors, never clamped.
    """

    dynamic: bool = True
    # A search credits a teacher hundreds of times per task (every judged step, every finished path):
    # at 0.02 the EMA remembered a few iterations and its noise (a std of about 0.05 on a coin-flip
    # credit) swung the weights at temperature 0.05. With 0.005 and a cap of 0.9 the ensemble of the
    # bundled teachers solved 0.185 / 0.380 / 0.465 / 0.640 of 200 dev puzzles at 200-1600 tokens, against
    # 0.165 / 0.285 / 0.400 / 0.590 with 0.02 and 0.8 (benchmarks/search_settings_dev.py, RESULTS
    # "Search settings on dev puzzles").
    ema_rate: float = 0.005
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
    # Off by default: with "none" the search is exactly the global-weights search (the golden trees);
    # presets that want per-context teachers turn it on.
    context: str = "none"
    # A context's own scores weigh as much as the global ones after 10 credited steps in it.
    context_prior: float = 10.0
    max_contexts: int = 16
    # Read each score bias-corrected (Adam's correction, see the module docstring): an EMA that starts
    # at 0 reads a teacher credited a few times as a fraction of its success rate, so a new context
    # ranked teachers by how often they were credited. Per-depth weights with leader rollouts solved
    # 0.667 / 0.846 / 0.912 / 0.950 of 80 Game-of-24 dev puzzles (3 seeds) at 100-800 tokens with the
    # ladder teachers and 0.263 / 0.608 / 0.800 / 0.917 with the complementary pair, against 0.579 /
    # 0.779 / 0.933 / 0.967 and 0.079 / 0.300 / 0.658 / 0.850 without (RESULTS "Warm-up and rollouts by the leader").
    warmup: bool = True

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
        _check(self.context in CONTEXT_MODES, f"weights.context must be one of {', '.join(map(repr, CONTEXT_MODES))}, got {self.context!r}")
        _check(isinstance(self.warmup, bool), f"weights.warmup must be true or false, got {self.warmup!r}")
        _check(
            0 <= self.context_prior < float("inf"),
            f"weights.context_prior must be >= 0 and finite (0: no backoff), got {self.context_prior}",
        )
        _check(
            isinstance(self.max_contexts, int) and not isinstance(self.max_contexts, bool) and 1 <= self.max_contexts <= 65536,
            f"weights.max_contexts must be an int in [1, 65536], got {self.max_contexts!r}",
        )

    def resolved_max_weight(self, n: int) -> float:
        """``max_weight`` for ``n`` teachers (the documented default when unset)."""
        if self.max_weight is not None:
            return self.max_weight
        return 0.9 if n > 1 else 1.0

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
            context_prior=float(config.context_prior),
            max_contexts=int(config.max_contexts),
            warmup=bool(config.warmup),
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
        ``dynamic`` and ``context`` are the search's choices — whether to credit them, and where it
        reads context ids — so they read as True and "none" here)."""
        c = self._native.config()
        return WeightsConfig(
            dynamic=True, ema_rate=c.ema_rate, temperature=c.temperature, floor=c.floor, epsilon=c.epsilon,
            max_weight=c.max_weight, stale_bonus=c.stale_bonus, max_stale_draws=c.max_stale_draws, gamma=c.gamma,
            context_prior=c.context_prior, max_contexts=c.max_contexts, warmup=c.warmup,
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

    @property
    def max_contexts(self) -> int:
        """Context ids are ``0..max_contexts - 1``."""
        return int(self._native.config().max_contexts)

    @property
    def num_contexts(self) -> int:
        """One more than the highest context id drawn or credited in so far (0: none yet)."""
        return int(self._native.num_contexts())

    def probabilities(self, context: int | None = None) -> npt.NDArray[np.float64]:
        """float64[N]: softmax(scores / temperature) projected onto the floor and the cap; in a
        context, of the scores blended with the global ones by :meth:`context_weight`."""
        return self._native.probabilities() if context is None else self._native.probabilities(_context_id(context))

    def sampling_probabilities(self, context: int | None = None) -> npt.NDArray[np.float64]:
        """float64[N]: what the next draw (in ``context``) uses (anti-stale bonus and epsilon
        included), unless a teacher has reached ``max_stale_draws`` there and is forced."""
        return self._native.sampling_probabilities(_context_id(context))

    def context_weight(self, context: int) -> float:
        """``lambda = n / (n + context_prior)``: how much of ``context``'s probabilities come from
        its own scores (``n`` = steps credited in it; 0 while there are none)."""
        return float(self._native.context_weight(_context_id(context)))

    def sample(self, k: int = 1, context: int | None = None) -> npt.NDArray[np.int32]:
        """int32[k]: k teacher indices drawn one after another in ``context`` (default: the global
        weights); consumes k RNG draws."""
        return self._native.sample(int(k)) if context is None else self._native.sample_in(int(k), _context_id(context))

    def sample_per_context(self, contexts: Sequence[int] | npt.NDArray[np.integer], k: int = 1) -> npt.NDArray[np.int32]:
        """int32[m, k]: ``k`` draws in each of the ``m`` contexts, in order, in one native call
        (``NO_CONTEXT`` entries draw from the global weights); consumes m * k RNG draws, exactly as
        ``sample(k, c)`` for each context in turn."""
        # the native call refuses anything but int ids (a float, an id beyond int32) with a TypeError
        ids = contexts if isinstance(contexts, list) else np.asarray(contexts).reshape(-1).tolist()
        return self._native.sample_per_context(ids, int(k))

    def update(self, teacher: int | str, outcome: float, context: int | None = None) -> None:
        """Credits one outcome to one teacher (EMA step), globally and in ``context`` if given;
        records a history row (and one in the context)."""
        self._native.update(self.index(teacher), float(outcome), _context_id(context))

    def credit_path(
        self,
        teachers: Sequence[int] | npt.NDArray[np.integer],
        outcome: float,
        contexts: Sequence[int] | npt.NDArray[np.integer] | None = None,
    ) -> None:
        """Credits ``outcome`` to the teacher of every step of a path (root..leaf order).

        The last step gets rate ``ema_rate``, the one before ``ema_rate * gamma``, and so on.
        -1 (``NO_TEACHER``, the root) is skipped. ``contexts``, one per step, is where each step was
        drawn: its teacher's score there moves too (``NO_CONTEXT``: only the global one). One global
        history row per call, and one per context the path touched.
        """
        ids = as_ids(np.asarray(teachers).reshape(-1), "teachers")
        if contexts is not None and not isinstance(contexts, list):
            contexts = np.asarray(contexts).reshape(-1).tolist()
        self._native.credit_path(ids, float(outcome), contexts)

    def scores(self, context: int | None = None) -> npt.NDArray[np.float64]:
        """float64[N]: the EMA scores (of ``context`` alone, unblended, if given)."""
        return self._state(context).scores

    def unseen(self, context: int | None = None) -> npt.NDArray[np.float64]:
        """float64[N]: the product of ``(1 - rate)`` over each teacher's credits (in ``context`` if
        given): 1 before any credit, toward 0 as credits pile up. With ``warmup`` the softmax reads
        ``scores / (1 - unseen)``."""
        return self._state(context).unseen

    def draws_since_pick(self, context: int | None = None) -> npt.NDArray[np.int64]:
        return self._state(context).since_pick

    def pick_counts(self, context: int | None = None) -> npt.NDArray[np.int64]:
        return self._state(context).picks

    def evidence(self, context: int) -> int:
        """The steps credited in ``context``: ``n`` in the backoff."""
        return int(self._native.context_state(_context_id(context)).evidence)

    @property
    def draws(self) -> int:
        return int(self._native.state().draws)

    def history(self, context: int | None = None) -> npt.NDArray[np.float64]:
        """float64[T, N]: probabilities at construction and after every update / credit_path; in a
        context, after every credit that touched it (:meth:`history_rows` dates them)."""
        return self._state(context).history

    def history_rows(self, context: int) -> npt.NDArray[np.int64]:
        """int64[R]: for each row of ``history(context)``, the row of the global ``history()``
        recorded by the same credit (a common time axis for plots)."""
        return self._native.context_state(_context_id(context)).history_at

    def _state(self, context: int | None) -> _core.WeightsState | _core.ContextState:
        context = _context_id(context)
        return self._native.state() if context == NO_CONTEXT else self._native.context_state(context)
