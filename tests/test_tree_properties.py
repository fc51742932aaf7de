"""Property tests: random operation sequences through mcts.Tree and the Python oracle agree."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_tree import ReferenceTree

import mcts

configs = st.fixed_dictionaries(
    {
        "rule": st.sampled_from(["puct", "ucb1"]),
        "c_explore": st.sampled_from([0.0, 0.5, 1.25, 3.0]),
        "fpu_reduction": st.sampled_from([0.25, 0.0, 1.0, -math.inf]),
        "virtual_loss": st.sampled_from([0.0, 1.0, 3.0]),
        "widen_c": st.sampled_from([None, 1.0, 2.0]),
        "widen_alpha": st.sampled_from([0.5, 0.3]),
        "discount": st.sampled_from([1.0, 0.9]),
    }
)
small_floats = st.floats(-5.0, 5.0, allow_nan=False, width=64)
texts = st.text(alphabet="ab c.\né→", max_size=4)


def assert_same(tree: mcts.Tree, ref: ReferenceTree) -> None:
    got = tree.nodes()
    want = ref.columns()
    assert len(tree) == len(ref)
    for name, values in want.items():
        np.testing.assert_array_equal(getattr(got, name), np.asarray(values), err_msg=name)
    assert tree.q_bounds() == (ref.q_min, ref.q_max)
    # Children are stored as runs of consecutive ids; they must read back as the oracle's lists.
    for i, node in enumerate(ref.nodes):
        assert tree.children(i).ids.tolist() == node.children
        assert tree.num_children(i) == len(node.children)


def check_invariants(tree: mcts.Tree) -> None:
    nodes = tree.nodes()
    child_visits = np.bincount(nodes.parent[1:], weights=nodes.visits[1:], minlength=len(nodes))
    assert (nodes.visits >= child_visits).all()  # the difference is the backups that ended there
    assert (nodes.in_flight >= 0).all()
    assert nodes.in_flight[0] == nodes.pending.sum()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, data=st.data())
def test_random_operations_match_the_oracle(config, data):
    tree, ref = mcts.Tree(**config), ReferenceTree(**config)
    pending: list[int] = []
    backups = 0
    for _ in range(data.draw(st.integers(5, 40), label="steps")):
        op = data.draw(st.sampled_from(["select", "expand", "expand", "backup", "cancel", "saturate", "reroot", "q_range", "descend"]))
        if op == "select":
            k = data.draw(st.integers(0, 6), label="k")
            sel = tree.select(k)
            leaves, kinds, rooms, paths = ref.select(k)
            assert sel.leaves.tolist() == leaves
            assert sel.kinds.tolist() == kinds
            assert sel.room.tolist() == rooms
            assert [p.tolist() for p in sel.paths()] == paths
            assert len(set(leaves)) == len(leaves)
            pending += leaves
        elif op == "expand" and any(not node.terminal for node in ref.nodes):
            candidates = [i for i in range(len(ref)) if not ref.nodes[i].terminal]
            parents = data.draw(st.lists(st.sampled_from(candidates), max_size=5), label="parents")
            n = len(parents)
            priors = data.draw(st.lists(st.floats(0.0, 2.0), min_size=n, max_size=n), label="priors")
            teachers = data.draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n), label="teachers")
            rewards = data.draw(st.lists(small_floats, min_size=n, max_size=n), label="rewards")
            terminal = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="terminal")
            actions = data.draw(st.lists(texts, min_size=n, max_size=n), label="actions")
            ids = tree.expand(parents, priors, teachers, rewards, terminal, actions)
            assert ids.tolist() == ref.expand(parents, priors, teachers, rewards, terminal, actions)
        elif op in ("backup", "cancel") and pending:
            chosen = data.draw(st.lists(st.sampled_from(pending), unique=True, max_size=len(pending)), label="leaves")
            if op == "backup":
                values = data.draw(st.lists(small_floats, min_size=len(chosen), max_size=len(chosen)), label="v")
                tree.backup(chosen, values)
                ref.backup(chosen, values)
                backups += len(chosen)
            else:
                tree.cancel(chosen)
                ref.cancel(chosen)
            pending = [p for p in pending if p not in chosen]
        elif op == "saturate":
            nodes = data.draw(st.lists(st.integers(0, len(ref) - 1), max_size=2), label="saturate")
            tree.mark_saturated(nodes)
            ref.mark_saturated(nodes)
        elif op == "descend" and pending:
            leaf = data.draw(st.sampled_from(pending), label="descend_leaf")
            kids = [i for i, n in enumerate(ref.nodes) if n.parent == leaf and not n.pending]
            if kids:
                child = data.draw(st.sampled_from(kids), label="descend_child")
                tree.descend([leaf], [child])
                ref.descend([leaf], [child])
                pending = [child if p == leaf else p for p in pending]
        elif op == "q_range":
            low = data.draw(small_floats, label="low")
            high = data.draw(st.floats(low, 5.0, allow_nan=False), label="high")
            tree.include_q_range(low, high)
            ref.include_q_range(low, high)
        elif op == "reroot" and not pending and data.draw(st.booleans(), label="do_reroot"):
            new_root = data.draw(st.integers(0, len(ref) - 1), label="new_root")
            assert tree.reroot(new_root).tolist() == ref.reroot(new_root)
            backups = int(tree.nodes([0]).visits[0])  # the new root's visits carry over
        assert_same(tree, ref)
        check_invariants(tree)
    assert tree.nodes([0]).visits[0] == backups
    assert tree.best_path("visits").tolist() == ref.best_path("visits")
    assert tree.best_path("value").tolist() == ref.best_path("value")
    assert [p.tolist() for p in tree.terminal_paths()] == ref.terminal_paths()
    last = len(ref) - 1
    assert tree.text(last) == ref.text(last)
    assert tree.actions(range(len(ref))) == [n.action for n in ref.nodes]
    # Virtual loss returns to zero once every selection is backed up or cancelled.
    tree.cancel(pending)
    assert (tree.nodes().in_flight == 0).all()


@settings(max_examples=25, deadline=None)
@given(config=configs, seed=st.integers(0, 2**32 - 1), k=st.integers(1, 16))
def test_batched_search_matches_the_oracle(config, seed, k):
    """A whole batched search (select K, expand, back up) stays in lockstep with the oracle."""
    rng = np.random.default_rng(seed)
    tree, ref = mcts.Tree(**config), ReferenceTree(**config)
    for _ in range(12):
        sel = tree.select(k)
        leaves, kinds, _, _ = ref.select(k)
        assert sel.leaves.tolist() == leaves and sel.kinds.tolist() == kinds
        open_leaves = [leaf for leaf, kind in zip(leaves, kinds) if kind != 2]
        parents = [leaf for leaf in open_leaves for _ in range(int(rng.integers(1, 4)))]
        n = len(parents)
        args = (parents, rng.random(n).tolist(), rng.integers(0, 3, n).tolist(), rng.normal(size=n).tolist(),
                (rng.random(n) < 0.2).tolist(), ["x"] * n)
        tree.expand(*args)
        ref.expand(*args)
        values = rng.normal(size=len(leaves)).tolist()
        tree.backup(leaves, values)
        ref.backup(leaves, values)
    assert_same(tree, ref)
