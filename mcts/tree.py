"""The search tree: a typed facade over the native core (``mcts._core``).

Nodes live in C++ as a struct of arrays; node ids are creation order and the root is ``ROOT = 0``.
The search loop talks to the tree in batches, one call per batch::

    sel = tree.select(k)                     # k distinct leaves, virtual loss on their paths
    ids = tree.expand(parents, priors, ...)  # children for many leaves at once
    tree.backup(sel.leaves, values)          # one value per selected leaf (or tree.cancel(...))

Selection (``rule="puct"``, AlphaZero, Silver et al. 2017):
``score = q + c * P * sqrt(max(N_parent, 1)) / (1 + n)``; (``rule="ucb1"``, Auer et al. 2002):
``score = q + c * sqrt(ln(max(N_parent, 1)) / max(n, 1))``. ``q`` is the child's mean return
normalised to [0, 1] by the smallest and largest return ever backed up (MuZero's MinMaxStats,
Schrittwieser et al. 2020); an unvisited child scores ``q(parent) - fpu_reduction`` (first-play
urgency, as in Leela Chess Zero). Each pending selection through a child adds ``virtual_loss``
visits of the worst value (0) to it, so one call spreads over distinct leaves. Progressive
widening (Coulom 2007; Chaslot et al. 2008): a node may hold ``ceil(widen_c * max(N, 1)^widen_alpha)``
children; when it holds fewer and is not saturated, ``select`` returns it as a ``WIDEN`` leaf.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np
import numpy.typing as npt

from mcts import _core
from mcts.node_notes import NodeNotes
from mcts.types import NodeView

ROOT = 0
NO_PARENT = -1
NO_TEACHER = -1
#: Bytes of per-node storage in the native arrays (the action text is in a separate arena).
BYTES_PER_NODE: int = int(_core.BYTES_PER_NODE)

#: Raised by ``expand`` when the node budget (``max_nodes``) or the 4 GiB text arena is full.
TreeFullError = _core.TreeFullError

_RULES = {"puct": 0, "ucb1": 1}
_FLAG_TERMINAL, _FLAG_EXPANDED, _FLAG_SATURATED, _FLAG_PENDING = 1, 2, 4, 8
_INT32 = np.iinfo(np.int32)

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


class LeafKind(IntEnum):
    """Why ``select`` stopped at a leaf."""

    EXPAND = 0  #: never expanded: ask the teachers for its first children (at most ``room``)
    WIDEN = 1  #: expanded, and progressive widening allows ``room`` more children now
    TERMINAL = 2  #: terminal: evaluate it and back it up, never expand it


@dataclass(frozen=True)
class TreeConfig:
    """The one definition of a tree's selection settings (TOML table ``[search.selection]``);
    validated here with the key's name and its allowed range, and again in C++.

    ``widen_c=None`` turns progressive widening off (a node is expanded once, with any number of
    children); otherwise a node may hold ``ceil(widen_c * N**widen_alpha)`` children after N visits.
    ``fpu_reduction=-inf`` makes every unvisited child win (UCB1's "try each once").
    ``max_nodes=None`` allows up to 2**31 - 1 nodes.
    """

    rule: Literal["puct", "ucb1"] = "puct"
    c_explore: float = 1.25
    fpu_reduction: float = 0.25
    virtual_loss: float = 1.0
    widen_c: float | None = 2.0
    widen_alpha: float = 0.5
    discount: float = 1.0
    max_nodes: int | None = 200_000

    def __post_init__(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"selection.{message}")

        check(self.rule in _RULES, f"rule must be 'puct' or 'ucb1', got {self.rule!r}")
        check(_finite(self.c_explore) and self.c_explore >= 0, f"c_explore must be finite and >= 0, got {self.c_explore!r}")
        check(_real(self.fpu_reduction) and not math.isnan(self.fpu_reduction),
              f"fpu_reduction must be a number (-inf: try every child first), got {self.fpu_reduction!r}")
        check(_finite(self.virtual_loss) and self.virtual_loss >= 0, f"virtual_loss must be finite and >= 0, got {self.virtual_loss!r}")
        check(self.widen_c is None or (_finite(self.widen_c) and self.widen_c > 0),
              f"widen_c must be > 0 (unset turns widening off), got {self.widen_c!r}")
        check(_real(self.widen_alpha) and 0 <= self.widen_alpha <= 1, f"widen_alpha must be in [0, 1], got {self.widen_alpha!r}")
        check(_real(self.discount) and 0 <= self.discount <= 1, f"discount must be in [0, 1], got {self.discount!r}")
        check(self.max_nodes is None or (_integer(self.max_nodes) and 1 <= self.max_nodes <= _INT32.max),
              f"max_nodes must be in [1, 2**31 - 1] or unset, got {self.max_nodes!r}")


def _real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return _real(value) and math.isfinite(value)  # type: ignore[arg-type]


def _integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Selection:
    """The leaves one ``select`` call picked, and their paths.

    ``leaves``: int32[k'] distinct node ids (k' <= k). ``kinds``: uint8[k'] ``LeafKind`` values.
    ``room``: int32[k'] children that may be added to the leaf now (-1: no limit because widening
    is off; 0 for terminal leaves). The path of leaf i (root..leaf, int32) is
    ``path_nodes[path_offsets[i]:path_offsets[i + 1]]``.
    """

    leaves: IntArray
    kinds: npt.NDArray[np.uint8]
    room: IntArray
    path_nodes: IntArray
    path_offsets: IntArray

    def __len__(self) -> int:
        return int(self.leaves.shape[0])

    # Compared as plain ints: numpy probes an enum operand's attributes first, which costs ~4 us
    # a call (a tenth of a batch-256 search step's Python overhead).
    @property
    def needs_expansion(self) -> npt.NDArray[np.bool_]:
        return self.kinds == int(LeafKind.EXPAND)

    @property
    def widen(self) -> npt.NDArray[np.bool_]:
        return self.kinds == int(LeafKind.WIDEN)

    @property
    def is_terminal(self) -> npt.NDArray[np.bool_]:
        return self.kinds == int(LeafKind.TERMINAL)

    def path(self, i: int) -> IntArray:
        return self.path_nodes[self.path_offsets[i] : self.path_offsets[i + 1]]

    def paths(self) -> list[IntArray]:
        return [self.path(i) for i in range(len(self))]


@dataclass(frozen=True)
class NodeArrays:
    """Statistics of several nodes as parallel arrays (one row per id in ``ids``)."""

    ids: IntArray
    parent: IntArray
    depth: IntArray
    visits: IntArray
    value_sum: FloatArray
    prior: FloatArray  # stored as float32
    reward: FloatArray  # stored as float32
    teacher: IntArray
    terminal: npt.NDArray[np.bool_]
    expanded: npt.NDArray[np.bool_]
    saturated: npt.NDArray[np.bool_]
    pending: npt.NDArray[np.bool_]  # selected as a leaf, not yet backed up or cancelled
    in_flight: IntArray  # pending selections through the node (virtual loss count)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def q(self) -> FloatArray:
        """Mean return value_sum / visits (0 where unvisited); not normalised."""
        return np.divide(self.value_sum, self.visits, out=np.zeros_like(self.value_sum), where=self.visits > 0)


def _as_ids(values: object, name: str) -> IntArray:
    array = np.asarray(values)
    if array.dtype == np.int32 and array.ndim == 1:
        return array
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int32)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer node/teacher ids, got dtype {array.dtype}")
    if array.min() < _INT32.min or array.max() > _INT32.max:
        raise IndexError(f"{name} holds an id outside int32: {array.min()}..{array.max()}")
    return array.astype(np.int32)


def _as_floats(values: object, name: str, rows: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape[0] != rows:
        raise ValueError(f"{name} has {array.shape[0]} rows but {rows} were expected")
    return array


class Tree:
    """A Monte-Carlo search tree with batched select / expand / backup (see the module doc).

    The root (id 0) exists from construction, unexpanded, with ``NO_TEACHER`` and an empty action.
    Not meant to be shared between threads without care: calls are serialised by a lock, so
    concurrent calls are safe but do not run in parallel.
    """

    def __init__(self, config: TreeConfig | None = None, **settings: object) -> None:
        """``config`` (default ``TreeConfig()``) with keyword ``settings`` overriding its fields,
        e.g. ``Tree(widen_c=None)``."""
        config = dataclasses.replace(config or TreeConfig(), **settings) if settings else config or TreeConfig()
        self._native = _core.Tree(
            rule=_RULES[config.rule],
            c_explore=float(config.c_explore),
            fpu_reduction=float(config.fpu_reduction),
            virtual_loss=float(config.virtual_loss),
            widen_c=math.inf if config.widen_c is None else float(config.widen_c),
            widen_alpha=float(config.widen_alpha),
            discount=float(config.discount),
            max_nodes=_INT32.max if config.max_nodes is None else int(config.max_nodes),
        )
        self._config = config
        self.notes = NodeNotes()

    @classmethod
    def _wrap(cls, native: _core.Tree) -> Tree:
        """A facade around an existing native tree (used by ``load_tree``)."""
        tree = cls.__new__(cls)
        tree._native = native
        tree.notes = NodeNotes()
        c = native.config()
        tree._config = TreeConfig(
            rule="ucb1" if c.rule == 1 else "puct", c_explore=c.c_explore, fpu_reduction=c.fpu_reduction,
            virtual_loss=c.virtual_loss, widen_c=None if math.isinf(c.widen_c) else c.widen_c, widen_alpha=c.widen_alpha,
            discount=c.discount, max_nodes=None if c.max_nodes == _INT32.max else c.max_nodes,
        )
        return tree

    @property
    def config(self) -> TreeConfig:
        return self._config

    def __len__(self) -> int:
        return int(len(self._native))

    def __repr__(self) -> str:
        return f"Tree(nodes={len(self)}, rule={self._config.rule!r})"

    # --- the batch protocol ---------------------------------------------------------------

    def select(self, k: int) -> Selection:
        """Picks up to ``k`` distinct leaves and adds virtual loss along their paths.

        Returns fewer than ``k`` when the tree has fewer selectable leaves (every other leaf is
        pending, terminal-and-pending, or below a saturated node). Deterministic: no randomness.
        """
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"k must be an int, got {type(k).__name__}")
        s = self._native.select(int(k))
        # Positional: keywords would cost ~0.15 us on the search's hottest call.
        return Selection(s.leaves, s.kinds, s.room, s.path_nodes, s.path_offsets)

    def expand(
        self,
        parents: Sequence[int] | IntArray,
        priors: Sequence[float] | FloatArray,
        teachers: Sequence[int] | IntArray | None = None,
        rewards: Sequence[float] | FloatArray | None = None,
        terminal: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
        actions: Sequence[str] | None = None,
    ) -> IntArray:
        """Adds one child per row under ``parents[i]`` (a parent may repeat); returns their ids.

        ``priors``: P(s, a) >= 0 (PUCT's prior; need not sum to 1). ``teachers``: the proposing
        teacher's index (default ``NO_TEACHER``). ``rewards``: immediate reward of reaching the
        child (default 0). ``terminal``: the child ends the episode (default False). ``actions``:
        the step text (default ""). Priors and rewards are stored as float32. All rows are
        checked before any is added; new ids are consecutive, in row order.
        """
        parent_ids = _as_ids(parents, "parents")
        n = parent_ids.shape[0]
        teacher_ids = np.full(n, NO_TEACHER, dtype=np.int32) if teachers is None else _as_ids(teachers, "teachers")
        if teacher_ids.shape[0] != n:
            raise ValueError(f"teachers has {teacher_ids.shape[0]} rows but parents has {n}")
        reward_values = np.zeros(n) if rewards is None else _as_floats(rewards, "rewards", n)
        terminal_flags = (
            np.zeros(n, dtype=np.uint8) if terminal is None else np.asarray(terminal, dtype=bool).astype(np.uint8)
        )
        if actions is not None and isinstance(actions, (str, bytes)):
            raise TypeError("actions must be a list of str (one per row), not a single string")
        return self._native.expand(
            parent_ids, _as_floats(priors, "priors", n), teacher_ids, reward_values, terminal_flags,
            None if actions is None else list(actions),
        )

    def backup(self, leaves: Sequence[int] | IntArray, values: Sequence[float] | FloatArray) -> None:
        """Backs ``values[i]`` up from ``leaves[i]`` and removes that selection's virtual loss.

        Returns: ``G = reward[leaf] + value`` at the leaf, then ``G = reward[p] + discount * G``
        for each ancestor p; every node on the path gets ``visits += 1`` and ``value_sum += G``.
        Each leaf must be pending (selected, not yet backed up or cancelled) and appear once;
        values must be finite. Raises before changing anything otherwise.
        """
        ids = _as_ids(leaves, "leaves")
        self._native.backup(ids, _as_floats(values, "values", ids.shape[0]))

    def cancel(self, leaves: Sequence[int] | IntArray) -> None:
        """Removes the virtual loss of pending leaves without touching any statistic."""
        self._native.cancel(_as_ids(leaves, "leaves"))

    def descend(self, leaves: Sequence[int] | IntArray, children: Sequence[int] | IntArray) -> None:
        """Moves pending selections one step down: ``leaves[i]`` -> ``children[i]`` (its child, not pending).

        The search expands a selected leaf, evaluates one new child and backs up from that child,
        so the child's own visit count and Q record the evaluation (standard MCTS expansion).
        """
        self._native.descend(_as_ids(leaves, "leaves"), _as_ids(children, "children"))

    def mark_saturated(self, nodes: Sequence[int] | IntArray) -> None:
        """No more children can be had for these nodes: progressive widening stops there.

        Also marks them expanded. A saturated node without children can never be selected again;
        use ``mark_terminal`` for a node that turned out to be an end state.
        """
        self._native.mark_saturated(_as_ids(nodes, "nodes"))

    def mark_terminal(self, nodes: Sequence[int] | IntArray) -> None:
        """Marks childless nodes terminal (selected as ``TERMINAL`` leaves from now on)."""
        self._native.mark_terminal(_as_ids(nodes, "nodes"))

    # --- reading ---------------------------------------------------------------------------

    def nodes(self, ids: Sequence[int] | IntArray | None = None) -> NodeArrays:
        """Statistics of ``ids`` (all nodes, in id order, when None) as parallel arrays."""
        id_array = None if ids is None else _as_ids(ids, "ids")
        cols = self._native.nodes(id_array)
        if id_array is None:
            id_array = np.arange(cols.parent.shape[0], dtype=np.int32)
        flags = cols.flags
        return NodeArrays(
            ids=id_array, parent=cols.parent, depth=cols.depth, visits=cols.visits, value_sum=cols.value_sum,
            prior=cols.prior, reward=cols.reward, teacher=cols.teacher, terminal=(flags & _FLAG_TERMINAL) > 0,
            expanded=(flags & _FLAG_EXPANDED) > 0, saturated=(flags & _FLAG_SATURATED) > 0,
            pending=(flags & _FLAG_PENDING) > 0, in_flight=cols.in_flight,
        )

    def node(self, node_id: int) -> NodeView:
        """A snapshot of one node (``NodeView`` from ``mcts.types``)."""
        row = self.nodes([node_id])
        return NodeView(
            id=int(node_id), parent=int(row.parent[0]), depth=int(row.depth[0]), visits=int(row.visits[0]),
            value_sum=float(row.value_sum[0]), prior=float(row.prior[0]), reward=float(row.reward[0]),
            teacher=int(row.teacher[0]), terminal=bool(row.terminal[0]), expanded=bool(row.expanded[0]),
            in_flight=int(row.in_flight[0]), action=self.action(node_id),
        )

    def children(self, node_id: int) -> NodeArrays:
        """The children of a node (ascending ids) and their statistics."""
        return self.nodes(self._native.children(int(node_id)))

    def num_children(self, node_id: int) -> int:
        return int(self._native.num_children(int(node_id)))

    def path(self, node_id: int) -> IntArray:
        """Node ids from the root to ``node_id`` (inclusive)."""
        return self._native.path(int(node_id))

    def best_path(self, by: Literal["visits", "value"] = "visits") -> IntArray:
        """From the root, repeatedly the visited child with the most visits (or highest mean return).

        Ties go to the oldest child; stops at a node without visited children.
        """
        if by not in ("visits", "value"):
            raise ValueError(f"by must be 'visits' or 'value', got {by!r}")
        return self._native.best_path(by == "visits")

    def root_visit_distribution(self, temperature: float = 1.0) -> tuple[IntArray, FloatArray]:
        """(root child ids, probabilities proportional to visits^(1/temperature)).

        ``temperature=0`` puts all mass on the most visited child (ties: oldest). All zeros when no
        root child has been visited. This is AlphaZero's policy target.
        """
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be finite and >= 0, got {temperature}")
        kids = self.children(ROOT)
        visits = kids.visits.astype(np.float64)
        probs = np.zeros_like(visits)
        if visits.sum() == 0:
            return kids.ids, probs
        if temperature == 0:
            probs[int(np.argmax(visits))] = 1.0
            return kids.ids, probs
        scaled = (visits / visits.max()) ** (1.0 / temperature)
        return kids.ids, scaled / scaled.sum()

    def terminal_paths(self) -> list[IntArray]:
        """Every root-to-terminal path (root..terminal ids), terminal nodes in id order."""
        paths = self._native.terminal_paths()
        nodes, offsets = paths.nodes, paths.offsets
        return [nodes[offsets[i] : offsets[i + 1]] for i in range(offsets.shape[0] - 1)]

    def action(self, node_id: int) -> str:
        """The step text of one node ("" for the root)."""
        return self._native.actions(_as_ids([node_id], "node_id"))[0]

    def actions(self, ids: Sequence[int] | IntArray) -> list[str]:
        return self._native.actions(_as_ids(ids, "ids"))

    def text(self, node_id: int) -> str:
        """The actions from the root to ``node_id`` concatenated (the text after the prompt)."""
        return self._native.text(int(node_id))

    def teachers(self, node_id: int) -> IntArray:
        """Teacher ids along the path root..node (``NO_TEACHER`` at the root): for ``credit_path``."""
        return self.nodes(self.path(node_id)).teacher

    def q_bounds(self) -> tuple[float, float]:
        """(min, max) of all returns backed up so far; (inf, -inf) before the first backup."""
        bounds = self._native.q_bounds()
        return float(bounds.low), float(bounds.high)

    def include_q_range(self, low: float, high: float) -> None:
        """Widen ``q_bounds`` to cover ``[low, high]``, a task's known return range (e.g. 0..1 for a
        verifier), so Q is normalised against it from the first backup (MuZero's MinMaxStats with
        known bounds). Saved with the tree. ``ValueError`` unless finite and ``low <= high``."""
        self._native.include_q_range(float(low), float(high))

    def normalized_q(self, q: float) -> float:
        """``q`` scaled by ``q_bounds`` to [0, 1] (0.5 while the bounds are equal or empty)."""
        return float(self._native.normalized_q(float(q)))

    def pending_count(self) -> int:
        """Selected leaves not yet backed up or cancelled."""
        return int(self.nodes([ROOT]).in_flight[0])

    @staticmethod
    def bytes_per_node() -> int:
        """Bytes of fixed per-node storage (the statistics arrays; text lives in an arena)."""
        return BYTES_PER_NODE

    def memory_bytes(self) -> int:
        """Bytes the native arrays and the text arena hold (capacity, not only size)."""
        return int(self._native.memory_bytes())

    # --- memory ------------------------------------------------------------------------------

    def reroot(self, new_root: int) -> IntArray:
        """Keeps only the subtree of ``new_root`` and releases everything else.

        The kept nodes are renumbered in their creation order, ``new_root`` becoming 0; returns
        ``old_to_new`` (int32[old size], -1 for released nodes). The new root keeps its statistics
        and reward but loses its action text and teacher (read ``text(new_root)`` first: it belongs
        to the prefix now). Storage is compacted in place and reused. No selection may be pending.
        ``notes`` are renumbered the same way.
        """
        old_to_new = self._native.reroot(int(new_root))
        self.notes.remap(old_to_new)
        return old_to_new
