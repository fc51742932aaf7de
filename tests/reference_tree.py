"""A pure-Python search tree: the oracle the native ``mcts.Tree`` must agree with.

Written for clarity, one node at a time, with plain lists. It computes every score with the same
double-precision expressions in the same order as ``csrc/tree_select.cpp`` (so selections match
exactly) and rounds priors and rewards to float32 like the native storage does.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

ROOT, NO_PARENT, NO_TEACHER = 0, -1, -1
EXPAND, WIDEN, TERMINAL = 0, 1, 2
INT32_MAX = 2**31 - 1


def f32(x: float) -> float:
    """x rounded to float32 (as the native tree stores priors and rewards)."""
    return struct.unpack("f", struct.pack("f", x))[0]


@dataclass
class Node:
    parent: int
    depth: int
    prior: float
    reward: float
    teacher: int
    terminal: bool
    action: str
    children: list[int] = field(default_factory=list)  # ascending ids
    expanded: bool = False
    saturated: bool = False
    pending: bool = False
    visits: int = 0
    value_sum: float = 0.0
    in_flight: int = 0


class ReferenceTree:
    def __init__(self, rule="puct", c_explore=1.25, fpu_reduction=0.25, virtual_loss=1.0, widen_c=1.0,
                 widen_alpha=0.5, discount=1.0, max_nodes=None):
        self.rule, self.c, self.fpu_reduction, self.vl = rule, c_explore, fpu_reduction, virtual_loss
        self.widen_c, self.widen_alpha, self.discount = widen_c, widen_alpha, discount
        self.max_nodes = INT32_MAX if max_nodes is None else max_nodes
        self.nodes = [Node(NO_PARENT, 0, 1.0, 0.0, NO_TEACHER, False, "")]
        self.q_min, self.q_max = math.inf, -math.inf

    def __len__(self) -> int:
        return len(self.nodes)

    def include_q_range(self, low: float, high: float) -> None:
        self.q_min, self.q_max = min(self.q_min, low), max(self.q_max, high)

    def normalized_q(self, q: float) -> float:
        return (q - self.q_min) / (self.q_max - self.q_min) if self.q_max > self.q_min else 0.5

    # --- selection ------------------------------------------------------------------------

    def widen_room(self, node: Node, num_children: int) -> int:
        if self.widen_c is None:
            return -1
        n = float(node.visits) if node.visits > 0 else 1.0
        limit = self.widen_c * math.pow(n, self.widen_alpha)
        if not num_children < limit:
            return 0
        return min(INT32_MAX, int(math.ceil(limit) - num_children))

    def _dead(self, node: Node, blocked: set[int], node_id: int) -> bool:
        leaf_like = node.terminal or not node.expanded
        return node_id in blocked or (leaf_like and node.pending)

    def best_child(self, node: Node, blocked: set[int]) -> tuple[int, int]:
        """(best child id or -1, number of children)."""
        n_parent = node.visits + self.vl * node.in_flight
        parent_qn = self.normalized_q(node.value_sum / node.visits) if node.visits > 0 else 0.5
        fpu = parent_qn - self.fpu_reduction
        n_floor = n_parent if n_parent > 1.0 else 1.0
        puct = self.rule == "puct"
        explore_parent = self.c * math.sqrt(n_floor) if puct else math.log(n_floor)
        best, best_score = -1, 0.0
        for child_id in node.children:  # ascending ids; ">" keeps the oldest on ties
            child = self.nodes[child_id]
            if self._dead(child, blocked, child_id):
                continue
            n = float(child.visits)
            n_eff = n + self.vl * child.in_flight
            q = self.normalized_q(child.value_sum / n) if n > 0 else fpu
            if child.in_flight > 0 and self.vl > 0:
                q = q * n / n_eff if n > 0 else 0.0
            if puct:
                u = explore_parent * child.prior / (1.0 + n_eff)
            else:
                u = self.c * math.sqrt(explore_parent / (n_eff if n_eff > 1.0 else 1.0))
            score = q + u
            if best == -1 or score > best_score:
                best, best_score = child_id, score
        return best, len(node.children)

    def select(self, k: int) -> tuple[list[int], list[int], list[int], list[list[int]]]:
        """(leaves, kinds, room, paths)."""
        if k < 0:
            raise ValueError("k must be >= 0")
        leaves, kinds, rooms, paths = [], [], [], []
        blocked: set[int] = set()
        while len(leaves) < k and ROOT not in blocked:
            path, node_id, found = [], ROOT, False
            while True:
                path.append(node_id)
                node = self.nodes[node_id]
                if node.terminal or not node.expanded:
                    if node.pending:
                        blocked.add(node_id)
                        break
                    found = True
                    kind = TERMINAL if node.terminal else EXPAND
                    room = 0 if node.terminal else self.widen_room(node, 0)
                    break
                best, count = self.best_child(node, blocked)
                if not node.pending and not node.saturated:
                    widen = self.widen_room(node, count)
                    if widen > 0:
                        found, kind, room = True, WIDEN, widen
                        break
                if best == -1:
                    blocked.add(node_id)
                    break
                node_id = best
            if not found:
                continue
            for n in path:
                self.nodes[n].in_flight += 1
            self.nodes[node_id].pending = True
            leaves.append(node_id)
            kinds.append(kind)
            rooms.append(room)
            paths.append(path)
        return leaves, kinds, rooms, paths

    # --- updates -----------------------------------------------------------------------------

    def _check_id(self, node_id: int) -> None:
        if not 0 <= node_id < len(self.nodes):
            raise IndexError(f"node id {node_id} is not in the tree")

    def expand(self, parents, priors, teachers, rewards, terminal, actions) -> list[int]:
        if len(self.nodes) + len(parents) > self.max_nodes:
            raise RuntimeError("tree full")
        for p, prior, teacher, reward in zip(parents, priors, teachers, rewards):
            self._check_id(p)
            if self.nodes[p].terminal:
                raise ValueError("terminal parent")
            if not (math.isfinite(prior) and prior >= 0 and math.isfinite(reward)):
                raise ValueError("bad prior or reward")
            if not -1 <= teacher <= 32767:
                raise ValueError("bad teacher")
        first = len(self.nodes)
        for p, prior, teacher, reward, term, action in zip(parents, priors, teachers, rewards, terminal, actions):
            parent = self.nodes[p]
            parent.children.append(len(self.nodes))
            parent.expanded = True
            self.nodes.append(Node(p, parent.depth + 1, f32(prior), f32(reward), teacher, bool(term), action))
        return list(range(first, len(self.nodes)))

    def mark_saturated(self, ids) -> None:
        for i in ids:
            self._check_id(i)
        for i in ids:
            self.nodes[i].saturated = self.nodes[i].expanded = True

    def mark_terminal(self, ids) -> None:
        for i in ids:
            self._check_id(i)
            if self.nodes[i].children:
                raise ValueError("has children")
        for i in ids:
            self.nodes[i].terminal = True

    def _check_pending(self, leaves) -> None:
        for leaf in leaves:
            self._check_id(leaf)
            if not self.nodes[leaf].pending:
                raise ValueError(f"leaf {leaf} was not selected")
        if len(set(leaves)) != len(leaves):
            raise ValueError("a leaf appears twice")

    def backup(self, leaves, values) -> None:
        if not all(math.isfinite(v) for v in values):
            raise ValueError("value not finite")
        self._check_pending(leaves)
        for leaf, value in zip(leaves, values):
            node_id = leaf
            self.nodes[leaf].pending = False
            g = self.nodes[leaf].reward + value
            while True:
                node = self.nodes[node_id]
                node.visits += 1
                node.value_sum += g
                node.in_flight -= 1
                self.q_min, self.q_max = min(self.q_min, g), max(self.q_max, g)
                if node.parent == NO_PARENT:
                    break
                g = self.nodes[node.parent].reward + self.discount * g
                node_id = node.parent

    def descend(self, leaves, children) -> None:
        self._check_pending(leaves)
        for leaf, child in zip(leaves, children):
            self._check_id(child)
            if self.nodes[child].parent != leaf or self.nodes[child].pending:
                raise ValueError(f"node {child} is not a non-pending child of {leaf}")
        for leaf, child in zip(leaves, children):
            self.nodes[leaf].pending = False
            self.nodes[child].pending = True
            self.nodes[child].in_flight += 1

    def cancel(self, leaves) -> None:
        self._check_pending(leaves)
        for leaf in leaves:
            self.nodes[leaf].pending = False
            node_id = leaf
            while node_id != NO_PARENT:
                self.nodes[node_id].in_flight -= 1
                node_id = self.nodes[node_id].parent

    def reroot(self, new_root: int) -> list[int]:
        self._check_id(new_root)
        if self.nodes[ROOT].in_flight:
            raise ValueError("selections pending")
        keep = [False] * len(self.nodes)
        keep[new_root] = True
        for i in range(new_root + 1, len(self.nodes)):
            keep[i] = keep[self.nodes[i].parent]
        old_to_new, kept = [-1] * len(self.nodes), []
        for i, k in enumerate(keep):
            if k:
                old_to_new[i] = len(kept)
                kept.append(self.nodes[i])
        shift = self.nodes[new_root].depth
        for node in kept:
            node.parent = old_to_new[node.parent] if node is not kept[0] else NO_PARENT
            node.depth -= shift
            node.children = [old_to_new[c] for c in node.children]
        kept[0].action, kept[0].teacher = "", NO_TEACHER
        self.nodes = kept
        return old_to_new

    # --- reads -------------------------------------------------------------------------------

    def path(self, node_id: int) -> list[int]:
        self._check_id(node_id)
        out = []
        while node_id != NO_PARENT:
            out.append(node_id)
            node_id = self.nodes[node_id].parent
        return out[::-1]

    def best_path(self, by: str = "visits") -> list[int]:
        out, node = [ROOT], self.nodes[ROOT]
        while True:
            best, best_key = -1, 0.0
            for c in node.children:
                child = self.nodes[c]
                if child.visits == 0:
                    continue
                key = float(child.visits) if by == "visits" else child.value_sum / child.visits
                if best == -1 or key > best_key:
                    best, best_key = c, key
            if best == -1:
                return out
            out.append(best)
            node = self.nodes[best]

    def terminal_paths(self) -> list[list[int]]:
        return [self.path(i) for i, n in enumerate(self.nodes) if n.terminal]

    def text(self, node_id: int) -> str:
        return "".join(self.nodes[i].action for i in self.path(node_id))

    def columns(self) -> dict[str, list]:
        """Every per-node field as a list, for comparison with ``mcts.Tree.nodes()``."""
        fields = ["parent", "depth", "visits", "value_sum", "prior", "reward", "teacher", "terminal", "expanded",
                  "saturated", "pending", "in_flight"]
        return {f: [getattr(n, f) for n in self.nodes] for f in fields}
