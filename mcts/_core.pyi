"""Type stub of the private native module. Use mcts.Tree, mcts.TeacherWeights, mcts.save_tree.

Results with several parts are named (struct sequences, like ``os.stat_result``: tuples whose fields
have names); read them by name.
"""

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__version__: str
BYTES_PER_NODE: int

class TreeFormatError(ValueError): ...
class TreeFullError(RuntimeError): ...

_I32 = npt.NDArray[np.int32]
_F64 = npt.NDArray[np.float64]
_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]

class TreeSettings(NamedTuple):
    rule: int  # 0 puct, 1 ucb1
    c_explore: float
    fpu_reduction: float
    virtual_loss: float
    widen_c: float  # inf: widening off
    widen_alpha: float
    discount: float
    max_nodes: int

class SelectResult(NamedTuple):
    leaves: _I32
    kinds: _U8  # LeafKind values
    room: _I32
    path_nodes: _I32  # path i is path_nodes[path_offsets[i]:path_offsets[i + 1]]
    path_offsets: _I32

class NodeColumns(NamedTuple):
    parent: _I32
    depth: _I32
    visits: _I32
    value_sum: _F64
    prior: _F64
    reward: _F64
    teacher: _I32
    flags: _U8  # bits: terminal, expanded, saturated, pending (mcts/tree.py _FLAG_*)
    in_flight: _I32

class FlatPaths(NamedTuple):
    nodes: _I32  # path i is nodes[offsets[i]:offsets[i + 1]]
    offsets: _I32

class QBounds(NamedTuple):
    low: float  # inf before the first backup
    high: float  # -inf before the first backup

class WeightsSettings(NamedTuple):
    ema_rate: float
    temperature: float
    floor: float
    epsilon: float
    max_weight: float
    stale_bonus: float
    max_stale_draws: int
    gamma: float
    context_prior: float
    max_contexts: int
    warmup: bool

class WeightsState(NamedTuple):
    scores: _F64
    since_pick: _I64
    picks: _I64
    draws: int
    rng_state: int
    history: _F64  # [T, N]
    unseen: _F64  # product of (1 - rate) over each teacher's credits (the warm-up correction)

class ContextState(NamedTuple):
    scores: _F64  # the context's own EMA scores (unblended)
    since_pick: _I64  # draws in this context since each teacher was last picked in it
    picks: _I64
    draws: int
    evidence: int  # steps credited in this context
    history: _F64  # [R, N]: probabilities(context) after each credit that touched it
    history_at: _I64  # [R]: the global history row of each
    unseen: _F64  # as WeightsState.unseen, over the credits in this context

class LoadedTree(NamedTuple):
    tree: Tree
    weights: TeacherWeights | None

class BenchmarkResult(NamedTuple):
    simulations: int
    nodes: int
    wall_seconds: float
    cpu_seconds: float

class Tree:
    def __init__(
        self, rule: int, c_explore: float, fpu_reduction: float, virtual_loss: float, widen_c: float,
        widen_alpha: float, discount: float, max_nodes: int,
    ) -> None: ...
    def config(self) -> TreeSettings: ...
    def __len__(self) -> int: ...
    def select(self, k: int) -> SelectResult: ...
    def expand(
        self, parents: _I32, priors: _F64, teachers: _I32, rewards: _F64, terminal: _U8,
        actions: list[str] | None,
    ) -> _I32: ...
    def backup(self, leaves: _I32, values: _F64) -> None: ...
    def descend(self, leaves: _I32, children: _I32) -> None: ...
    def cancel(self, leaves: _I32) -> None: ...
    def mark_saturated(self, nodes: _I32) -> None: ...
    def mark_terminal(self, nodes: _I32) -> None: ...
    def nodes(self, ids: _I32 | None) -> NodeColumns: ...
    def children(self, id: int) -> _I32: ...
    def num_children(self, id: int) -> int: ...
    def path(self, id: int) -> _I32: ...
    def best_path(self, by_visits: bool) -> _I32: ...
    def terminal_paths(self) -> FlatPaths: ...
    def actions(self, ids: _I32) -> list[str]: ...
    def text(self, id: int) -> str: ...
    def reroot(self, new_root: int) -> _I32: ...
    def q_bounds(self) -> QBounds: ...
    def include_q_range(self, low: float, high: float) -> None: ...
    def normalized_q(self, q: float) -> float: ...
    def memory_bytes(self) -> int: ...

class TeacherWeights:
    def __init__(
        self, names: list[str], ema_rate: float, temperature: float, floor: float, epsilon: float,
        max_weight: float, stale_bonus: float, max_stale_draws: int, gamma: float, context_prior: float,
        max_contexts: int, warmup: bool, seed: int,
    ) -> None: ...
    def names(self) -> list[str]: ...
    def config(self) -> WeightsSettings: ...
    def stale_bound(self) -> int: ...
    # context: 0..max_contexts-1, or -1 (the global weights)
    def probabilities(self, context: int = -1) -> _F64: ...
    def sampling_probabilities(self, context: int = -1) -> _F64: ...
    def context_weight(self, context: int) -> float: ...
    def sample(self, k: int) -> _I32: ...  # global draws
    def sample_in(self, k: int, context: int) -> _I32: ...
    def sample_per_context(self, contexts: list[int], k: int) -> _I32: ...  # [m, k]
    def update(self, teacher: int, outcome: float, context: int = -1) -> None: ...
    def credit_path(self, teachers: _I32, outcome: float, contexts: list[int] | None = None) -> None: ...
    def num_contexts(self) -> int: ...
    def context_state(self, context: int) -> ContextState: ...
    def state(self) -> WeightsState: ...

def serialize_tree(tree: Tree, weights: TeacherWeights | None) -> bytes: ...
def deserialize_tree(data: bytes) -> LoadedTree: ...
def native_benchmark(
    rule: int, c_explore: float, simulations: int, width: int, batch: int, seed: int
) -> BenchmarkResult: ...
