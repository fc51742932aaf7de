"""The data that crosses module boundaries, and the plugin contracts.

Data flows one way: the search (``mcts``) asks teachers (``teachers``) for children, asks scorers
(``value``) for numbers, and tells the native tree. Everything that travels between them is defined
here as a frozen dataclass; every plugin point is a ``typing.Protocol``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length", "eos"]


# --------------------------------------------------------------------------------------------
# Generation: what the search asks a teacher, and what comes back.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    """One leaf's request for continuations.

    ``prompt`` is the whole text so far (task prompt + the steps on the path). A backend that
    works on tokens may use ``prompt_token_ids`` instead when given. ``seed`` makes sampling
    reproducible per request where the backend supports it; ``temperature == 0`` means greedy.
    """

    prompt: str
    n: int = 1
    max_tokens: int = 32
    stop: tuple[str, ...] = ()
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    prompt_token_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"GenerationRequest.n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"GenerationRequest.max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"GenerationRequest.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"GenerationRequest.top_p must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True)
class Proposal:
    """One continuation proposed by one teacher.

    ``text`` excludes the stop string that ended it. ``token_logprobs`` holds the log-probability
    (natural log) of each sampled token under the teacher; ``logprob_sum`` is their sum. Both are
    ``None`` when the backend could not report likelihoods (never invented). ``stop_string``: the stop
    string that ended it (``finish_reason == "stop"``), when the backend says which.
    """

    text: str
    token_ids: tuple[int, ...]
    logprob_sum: float | None
    token_logprobs: tuple[float, ...] | None
    finish_reason: FinishReason
    teacher: str
    stop_string: str | None = None

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@runtime_checkable
class Teacher(Protocol):
    """A model that proposes continuations.

    ``generate(requests)`` returns, for each request in order, ``request.n`` proposals. Batching is
    the backend's job: one call may carry many leaves. ``agenerate`` is the same as a coroutine
    (HTTP backends overlap requests; local backends may run ``generate`` in a thread).
    """

    name: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]: ...

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------
# Scoring: rewards, the judge, and leaf values.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredText:
    """A state to score: the task prompt, the steps taken so far, and an optional reference."""

    prompt: str
    steps: tuple[str, ...]
    reference: str | None = None
    task_id: str = ""

    @property
    def response(self) -> str:
        return "".join(self.steps)


@runtime_checkable
class RewardFn(Protocol):
    """Maps a batch of states to a batch of rewards (floats, any scale; the tree normalises Q).

    Returns one ``dict[str, float]`` of named components per state, so that the trajectory log
    can show where a reward came from; the ensemble combines components with weights.
    """

    name: str

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]: ...


@runtime_checkable
class Judge(Protocol):
    """Scores a proposed step in its state: for each ``ScoredText`` (the path including the new step)
    a number in [-1, 1]: -1 reject, 0 neutral, +1 accept, or anything between (a process reward model).

    LMGT (arXiv 2409.04744) shifts environment rewards by the verdict; here the search adds
    ``judge.scale * verdict`` to the new node's reward, and (unless ``judge.prune = false``) a verdict
    at or below ``judge.prune_below`` prunes the node, as Tree of Thoughts prunes with its value prompt.
    """

    def judge(self, states: Sequence[ScoredText]) -> Sequence[float]: ...


@runtime_checkable
class TerminalValidator(Protocol):
    """Decides whether a response is finished (``terminal.validator``: a small model asked "is this
    answer complete?"). ``is_final(states)`` returns one bool per state; a True ends the path there."""

    def is_final(self, states: Sequence[ScoredText]) -> Sequence[bool]: ...


@runtime_checkable
class ValueFn(Protocol):
    """Estimates V(state) for a batch of leaves; used in place of (or blended with) rollouts."""

    def value(self, states: Sequence[ScoredText]) -> list[float]: ...


# --------------------------------------------------------------------------------------------
# Tasks: what the search needs to know about a problem.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    """The task's verdict on a path after its latest step.

    ``reward`` is the immediate reward of that step (the hard terminal reward on a terminal step),
    ``solved`` is True only on a terminal step that the task's verifier accepts.
    """

    terminal: bool
    reward: float
    solved: bool = False
    components: tuple[tuple[str, float], ...] = ()


@runtime_checkable
class SearchTask(Protocol):
    """One problem to search on.

    ``outcomes`` is batched: it receives many step sequences (each the whole path so far, root to the
    new node) and returns one ``StepOutcome`` each. It must accept any text (model output is untrusted).

    A task may also carry ``return_range = (low, high)``, the range its path returns are known to lie
    in (0..1 for a pass/fail verifier); the tree then normalises Q against it from the first backup,
    so a failed path scores as a failure rather than as "no spread yet" (see ``Tree.include_q_range``).
    """

    id: str
    prompt: str
    reference: str | None

    def outcomes(self, paths: Sequence[Sequence[str]]) -> list[StepOutcome]: ...


# The version of the ``trajectories.jsonl`` row written by ``Trajectory.to_json``.
TRAJECTORY_SCHEMA_VERSION = 2

# --------------------------------------------------------------------------------------------
# Read views of the tree and the results of a search.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeView:
    """A read-only snapshot of one node's statistics (ids are creation order; root is 0)."""

    id: int
    parent: int
    depth: int
    visits: int
    value_sum: float
    prior: float
    reward: float
    teacher: int
    terminal: bool
    expanded: bool
    in_flight: int
    action: str

    @property
    def q(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0


@dataclass(frozen=True)
class Step:
    """One step of a trajectory as written to ``trajectories.jsonl``."""

    text: str
    tokens: int
    teachers: tuple[str, ...]
    prior: float
    visits: int
    q: float
    reward: float
    reward_components: dict[str, float] = field(default_factory=dict)
    judge_shift: float = 0.0  # the judge's verdict in [-1, 1]; the reward holds scale * verdict
    pruned: bool = False  # the judge rejected this step: the search never went below it

    def to_json(self) -> dict:
        return {
            "text": self.text, "tokens": self.tokens, "teachers": list(self.teachers), "prior": self.prior,
            "visits": self.visits, "q": self.q, "reward": self.reward,
            "reward_components": dict(self.reward_components), "judge_shift": self.judge_shift, "pruned": self.pruned,
        }

    @classmethod
    def from_json(cls, row: dict) -> Step:
        return cls(
            text=str(row["text"]),
            tokens=int(row.get("tokens", 0)),
            teachers=tuple(row.get("teachers", ())),
            prior=float(row.get("prior", 0.0)),
            visits=int(row.get("visits", 0)),
            q=float(row.get("q", 0.0)),
            reward=float(row.get("reward", 0.0)),
            reward_components={k: float(v) for k, v in (row.get("reward_components") or {}).items()},
            judge_shift=float(row.get("judge_shift", 0.0)),
            pruned=bool(row.get("pruned", False)),
        )


@dataclass(frozen=True)
class Trajectory:
    """One root-to-terminal path of one task.

    ``node_ids[i]`` is the tree node of ``steps[i]``; the parent of step 0 is the root (0), so steps of
    different trajectories of one task with the same parent node are siblings (GRPO groups, DPO pairs).
    """

    task_id: str
    prompt: str
    steps: tuple[Step, ...]
    final_reward: float
    solved: bool
    node_ids: tuple[int, ...] = ()

    def to_json(self) -> dict:
        """The ``trajectories.jsonl`` row (schema ``TRAJECTORY_SCHEMA_VERSION``); ``parent_ids[i]`` is
        the tree node above ``steps[i]`` (0, the root, for the first step)."""
        return {
            "version": TRAJECTORY_SCHEMA_VERSION,
            "task_id": self.task_id,
            "prompt": self.prompt,
            "steps": [s.to_json() for s in self.steps],
            "final_reward": self.final_reward,
            "solved": self.solved,
            "node_ids": list(self.node_ids),
            "parent_ids": [0, *self.node_ids[:-1]] if self.node_ids else [],
        }

    @classmethod
    def from_json(cls, row: dict) -> Trajectory:
        """Reads a row of any known version (1: before the version field; 2: adds ``pruned``).
        ``ValueError`` naming what is missing or unknown."""
        version = row.get("version", 1)
        if version not in (1, TRAJECTORY_SCHEMA_VERSION):
            raise ValueError(f"trajectory row version {version!r} is not known (this mcts-llm reads 1 and {TRAJECTORY_SCHEMA_VERSION})")
        missing = [k for k in ("task_id", "prompt", "steps") if k not in row]
        if missing:
            raise ValueError(f"trajectory row lacks {missing}; expected the trajectories.jsonl schema")
        steps = tuple(Step.from_json(s) for s in row["steps"])
        node_ids = tuple(int(i) for i in row.get("node_ids") or ())
        if node_ids and len(node_ids) != len(steps):
            raise ValueError(f"task {row['task_id']!r}: node_ids has {len(node_ids)} entries for {len(steps)} steps")
        return cls(
            task_id=str(row["task_id"]),
            prompt=str(row["prompt"]),
            steps=steps,
            final_reward=float(row.get("final_reward", 0.0)),
            solved=bool(row.get("solved", False)),
            node_ids=node_ids,
        )


@dataclass(frozen=True)
class SearchResult:
    """What one task's search produced, and what it cost."""

    task_id: str
    best: Trajectory | None
    trajectories: tuple[Trajectory, ...]
    solved: bool
    simulations: int
    generated_tokens: int
    calls_per_teacher: dict[str, int]
    seconds: float
    # What the judge cost this search: calls (batches), tokens fed, seconds spent in it.
    judge_calls: int = 0
    judge_tokens: int = 0
    judge_seconds: float = 0.0
    # Failed teacher calls per teacher name; ``interrupted`` says why the search could not go on
    # (every teacher down): such a result is not a finished task.
    faults: dict[str, int] = field(default_factory=dict)
    interrupted: str | None = None
    # Why the search stopped: a budget ("simulations", "tokens", "seconds"), "solved", "stalled",
    # "tree full" (its node budget, ``selection.max_nodes``, is nearly spent) or "teachers down".
    stop_reason: str | None = None
    # The searched tree (an ``mcts.Tree``), for saving or inspection; not part of equality.
    tree: object = field(default=None, compare=False, repr=False)
