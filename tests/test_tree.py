"""mcts.Tree through its public API: the batch protocol, selection rules, reads, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mcts
from mcts import NO_PARENT, NO_TEACHER, ROOT, LeafKind


def expanded_root(tree: mcts.Tree, priors, rewards=None, actions=None) -> np.ndarray:
    n = len(priors)
    return tree.expand([ROOT] * n, priors, list(range(n)), rewards, None, actions)


def test_a_new_tree_has_only_the_root():
    tree = mcts.Tree()
    assert len(tree) == 1
    root = tree.node(ROOT)
    assert (root.parent, root.teacher, root.depth, root.visits, root.action) == (NO_PARENT, NO_TEACHER, 0, 0, "")
    sel = tree.select(3)
    assert sel.leaves.tolist() == [ROOT]  # the only leaf, and it is pending now
    assert sel.kinds.tolist() == [LeafKind.EXPAND]
    assert tree.select(1).leaves.size == 0


def test_backup_adds_discounted_returns_along_the_path():
    tree = mcts.Tree(discount=0.5, widen_c=None)
    tree.select(1)
    (child,) = tree.expand([ROOT], [1.0], [0], [2.0], None, ["a"])
    tree.backup([ROOT], [0.0])
    sel = tree.select(1)
    assert sel.leaves.tolist() == [child] and sel.paths()[0].tolist() == [ROOT, child]
    (grandchild,) = tree.expand([child], [1.0], [1], [1.0], [True], ["b"])
    tree.backup([child], [4.0])
    # G(child) = 2 + 4 = 6, G(root) = 0 + 0.5 * 6 = 3 (root's earlier backup contributed 0).
    assert tree.node(child).value_sum == pytest.approx(6.0)
    assert tree.node(ROOT).value_sum == pytest.approx(3.0)
    assert tree.node(ROOT).visits == 2 and tree.node(child).visits == 1
    assert tree.q_bounds() == (0.0, 6.0)
    assert tree.text(grandchild) == "ab"
    assert tree.node(grandchild).terminal


def test_a_known_return_range_normalises_q_from_the_first_backup():
    tree = mcts.Tree(widen_c=None)
    tree.include_q_range(0.0, 1.0)
    assert tree.q_bounds() == (0.0, 1.0)
    tree.select(1)
    failed, _unvisited = tree.expand([ROOT, ROOT], [0.5, 0.5], [0, 0], [0.0, 0.0], [True, False], ["x", "y"])
    tree.backup([ROOT], [0.0])
    tree.select(1)  # the failed terminal child (oldest wins the tie)
    tree.backup([failed], [0.0])
    assert tree.normalized_q(tree.node(failed).q) == 0.0  # not 0.5: a failure scores as one
    tree.backup(tree.select(1).leaves, [2.0])  # returns beyond the range widen it
    assert tree.q_bounds() == (0.0, 2.0)
    with pytest.raises(ValueError, match="low <= high"):
        tree.include_q_range(1.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        tree.include_q_range(float("nan"), 1.0)


def test_descend_moves_a_selection_to_the_evaluated_child():
    tree = mcts.Tree(widen_c=None)
    sel = tree.select(1)
    a, b = tree.expand([ROOT, ROOT], [0.5, 0.5], [0, 1], [0.0, 1.0], [False, True], ["a", "b"])
    tree.descend(sel.leaves, [b])
    assert tree.pending_count() == 1 and tree.node(b).in_flight == 1
    with pytest.raises(ValueError, match="not selected"):
        tree.backup([ROOT], [0.0])
    tree.backup([b], [0.0])  # G(b) = r(b) = 1 reaches both b and the root
    assert (tree.node(b).visits, tree.node(b).value_sum) == (1, 1.0)
    assert (tree.node(ROOT).visits, tree.node(ROOT).value_sum) == (1, 1.0)
    assert tree.pending_count() == 0 and tree.node(b).in_flight == 0
    (leaf,) = tree.select(1).leaves
    assert leaf == a
    with pytest.raises(ValueError, match="not a child"):
        tree.descend([a], [b])
    with pytest.raises(ValueError, match="leaves but"):
        tree.descend([a], [])


def test_one_select_picks_k_distinct_leaves_with_virtual_loss():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    expanded_root(tree, [0.25] * 8)
    tree.backup([ROOT], [0.0])
    sel = tree.select(5)
    assert len(sel) == 5 and len(set(sel.leaves.tolist())) == 5
    assert tree.nodes([ROOT]).in_flight[0] == 5
    assert tree.pending_count() == 5
    tree.cancel(sel.leaves[:2])
    tree.backup(sel.leaves[2:], [1.0, 0.0, -1.0])
    assert (tree.nodes().in_flight == 0).all()
    assert tree.node(ROOT).visits == 4


def test_puct_prefers_the_higher_prior_and_ucb1_ignores_priors():
    for rule, expected in (("puct", 2), ("ucb1", 1)):
        tree = mcts.Tree(rule=rule, widen_c=None, fpu_reduction=0.0)
        tree.select(1)
        expanded_root(tree, [0.1, 0.7, 0.2])
        tree.backup([ROOT], [0.0])
        assert tree.select(1).leaves.tolist() == [expected], rule  # ids 1, 2, 3; ucb1 ties go to the oldest


def test_selection_follows_the_better_value():
    tree = mcts.Tree(widen_c=None, c_explore=0.1)
    tree.select(1)
    a, b = expanded_root(tree, [0.5, 0.5])
    tree.backup([ROOT], [0.0])
    # a (oldest) first; it disappoints, so b's first-play urgency beats it; b pays off and stays.
    for leaf, value in ((a, -1.0), (b, 1.0), (b, 1.0)):
        sel = tree.select(1)
        assert sel.leaves.tolist() == [leaf]
        tree.backup(sel.leaves, [value])


def test_progressive_widening_returns_widen_leaves_as_visits_grow():
    tree = mcts.Tree(widen_c=1.0, widen_alpha=0.5)
    sel = tree.select(1)
    assert sel.room.tolist() == [1]  # ceil(1 * max(N, 1)^0.5) with N = 0
    tree.expand([ROOT], [1.0])
    tree.backup(sel.leaves, [0.0])
    widened = 0
    for _ in range(12):
        sel = tree.select(1)
        leaf, room = int(sel.leaves[0]), int(sel.room[0])
        widened += sel.kinds[0] == LeafKind.WIDEN
        tree.expand([leaf] * room, [1.0] * room)  # exactly what widening allows
        tree.backup(sel.leaves, [0.0])
        nodes = tree.nodes()
        counts = np.bincount(nodes.parent[1:], minlength=len(nodes))
        limits = np.ceil(np.maximum(nodes.visits, 1) ** 0.5)
        assert (counts[nodes.expanded] <= limits[nodes.expanded]).all()
    assert widened >= 2 and tree.num_children(ROOT) >= 3
    tree.mark_saturated([ROOT])
    for _ in range(5):
        sel = tree.select(1)
        assert sel.leaves[0] != ROOT
        tree.cancel(sel.leaves)


def test_a_saturated_subtree_that_is_all_pending_yields_fewer_leaves():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    expanded_root(tree, [0.5, 0.5])
    tree.backup([ROOT], [0.0])
    assert len(tree.select(10)) == 2  # only two leaves exist
    assert len(tree.select(1)) == 0


def test_terminal_leaves_are_reported_and_never_expanded():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    (end,) = tree.expand([ROOT], [1.0], None, [1.0], [True], ["done"])
    tree.backup([ROOT], [0.0])
    sel = tree.select(2)
    assert sel.leaves.tolist() == [end] and sel.is_terminal.tolist() == [True]
    with pytest.raises(ValueError, match="terminal"):
        tree.expand([end], [1.0])
    tree.backup(sel.leaves, [0.0])
    assert [p.tolist() for p in tree.terminal_paths()] == [[ROOT, end]]


def test_read_api():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    ids = expanded_root(tree, [0.2, 0.3, 0.5], [0.0, 1.0, 2.0], ["x", "y", "ζ"])
    tree.backup([ROOT], [0.0])
    for _ in range(6):
        sel = tree.select(1)
        tree.backup(sel.leaves, [float(sel.leaves[0])])
    kids = tree.children(ROOT)
    assert kids.ids.tolist() == ids.tolist()
    assert kids.visits.sum() == 6 and kids.teacher.tolist() == [0, 1, 2]
    assert kids.prior.tolist() == pytest.approx([0.2, 0.3, 0.5])
    assert tree.actions(ids) == ["x", "y", "ζ"] and tree.action(ids[2]) == "ζ"
    child_ids, probs = tree.root_visit_distribution()
    assert probs.sum() == pytest.approx(1.0) and np.allclose(probs, kids.visits / 6)
    assert tree.root_visit_distribution(0.0)[1].max() == 1.0
    best = tree.best_path("visits")
    assert best[0] == ROOT and best[1] == ids[int(np.argmax(kids.visits))]
    assert tree.best_path("value")[1] == ids[2]  # value 3 + reward 2 beats the others
    assert tree.path(ids[1]).tolist() == [ROOT, ids[1]]
    assert tree.teachers(ids[1]).tolist() == [NO_TEACHER, 1]
    assert tree.node(ids[0]).q == pytest.approx(tree.children(ROOT).q[0])
    assert mcts.Tree.bytes_per_node() == mcts.BYTES_PER_NODE <= 48
    assert tree.memory_bytes() >= len(tree) * mcts.BYTES_PER_NODE


def test_children_from_several_expand_calls_and_long_runs_read_back_in_order():
    # Children are stored as runs of consecutive ids: interleaved parents, a second expand call
    # and a run longer than one run holds (65535) must all read back as ascending ids.
    tree = mcts.Tree(widen_c=None)
    n = 70_000
    first = tree.expand(np.zeros(n, dtype=np.int32), np.linspace(0.0, 1.0, n), np.zeros(n, dtype=np.int32),
                        np.zeros(n), np.zeros(n, dtype=bool))
    assert tree.num_children(ROOT) == n and tree.children(ROOT).ids.tolist() == list(range(1, n + 1))
    assert tree.select(1).leaves.tolist() == [n]  # the highest prior is the newest child
    tree.cancel([n])
    more = tree.expand([1, ROOT, 1], [0.1, 0.2, 0.3], [0, 0, 0], [0.0, 0.0, 0.0], [False] * 3)
    assert tree.children(1).ids.tolist() == [more[0], more[2]]
    assert tree.children(ROOT).ids.tolist() == [*range(1, n + 1), more[1]]
    tree.reroot(int(first[0]))
    assert tree.children(ROOT).ids.tolist() == [1, 2]


def test_statistics_survive_the_node_memory_growing_past_huge_page_sizes():
    # All per-node arrays share one block that moves and regrows (past 2 MiB, where it is
    # realloc'ed and each array is shifted to its new offset); searching while it grows must
    # leave every field as the oracle has it.
    from reference_tree import ReferenceTree

    tree, ref = mcts.Tree(widen_c=None), ReferenceTree(widen_c=None)
    rng = np.random.default_rng(0)
    for _ in range(24):  # 24 x 5000 nodes x 47 bytes: the block grows from 1 node to > 4 MiB
        sel = tree.select(8)
        assert sel.leaves.tolist() == ref.select(8)[0]
        parents = np.sort(rng.integers(0, len(ref), 5000)).astype(np.int32)
        priors, rewards = rng.random(5000), rng.normal(size=5000)
        args = (parents.tolist(), priors.tolist(), [0] * 5000, rewards.tolist(), [False] * 5000)
        tree.expand(*args)
        ref.expand(*args, [""] * 5000)
        values = rng.random(len(sel))
        tree.backup(sel.leaves, values)
        ref.backup(sel.leaves.tolist(), values.tolist())
    got = tree.nodes()
    for name, values in ref.columns().items():
        np.testing.assert_array_equal(getattr(got, name), np.asarray(values), err_msg=name)


def test_reroot_keeps_the_subtree_and_renumbers_it():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    a, b = expanded_root(tree, [0.5, 0.5], actions=["A", "B"])
    tree.backup([ROOT], [0.0])
    a1, a2 = tree.expand([a, a], [0.5, 0.5], [3, 4], None, None, ["a1", "a2"])
    (b1,) = tree.expand([b], [1.0], [5], None, None, ["b1"])
    (a21,) = tree.expand([a2], [1.0], [6], None, None, ["a21"])
    visits_before = tree.node(a).visits
    old_to_new = tree.reroot(a)
    assert old_to_new.tolist() == [-1, 0, -1, 1, 2, -1, 3]
    assert len(tree) == 4
    root = tree.node(ROOT)
    assert (root.parent, root.depth, root.teacher, root.action, root.visits) == (NO_PARENT, 0, NO_TEACHER, "", visits_before)
    assert tree.text(old_to_new[a21]) == "a2a21"
    assert tree.node(old_to_new[a21]).depth == 2
    assert tree.children(ROOT).ids.tolist() == [1, 2]
    # Memory is reused: growing back to the old size needs no new capacity.
    capacity = tree.memory_bytes()
    tree.expand([ROOT] * 3, [0.1] * 3, None, None, None, ["z"] * 3)
    assert tree.memory_bytes() == capacity


def test_max_nodes_is_a_budget():
    tree = mcts.Tree(max_nodes=3)
    tree.expand([ROOT, ROOT], [0.5, 0.5])
    with pytest.raises(mcts.TreeFullError, match="max_nodes=3"):
        tree.expand([ROOT], [1.0])
    assert len(tree) == 3


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda t: t.node(5), IndexError, "node id 5"),
        (lambda t: t.path(-2), IndexError, "node id -2"),
        (lambda t: t.expand([9], [1.0]), IndexError, "node id 9"),
        (lambda t: t.expand([0], [float("nan")]), ValueError, "prior"),
        (lambda t: t.expand([0], [-1.0]), ValueError, "prior"),
        (lambda t: t.expand([0], [1.0], None, [1e300]), ValueError, "reward"),
        (lambda t: t.expand([0], [1.0], [40000]), ValueError, "teacher"),
        (lambda t: t.expand([0, 0], [1.0]), ValueError, "rows"),
        (lambda t: t.expand([0.5], [1.0]), TypeError, "integer"),
        (lambda t: t.expand([0], [1.0], None, None, None, "ab"), TypeError, "list of str"),
        (lambda t: t.expand([0], [1.0], None, None, None, [3]), TypeError, "must be str"),
        (lambda t: t.backup([0], [1.0]), ValueError, "not selected"),
        (lambda t: t.cancel([0]), ValueError, "not selected"),
        (lambda t: t.select(-1), ValueError, "k must be"),
        (lambda t: t.select(2.0), TypeError, "int"),
        (lambda t: t.best_path("prior"), ValueError, "visits"),
        (lambda t: t.mark_terminal([7]), IndexError, "node id 7"),
        (lambda t: mcts.Tree(rule="uct"), ValueError, "rule"),
        (lambda t: mcts.Tree(discount=1.5), ValueError, "discount"),
        (lambda t: mcts.Tree(virtual_loss=-1), ValueError, "virtual_loss"),
        (lambda t: mcts.Tree(widen_c=0), ValueError, "widen_c"),
        (lambda t: mcts.Tree(max_nodes=0), ValueError, "max_nodes"),
    ],
)
def test_bad_calls_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(mcts.Tree())


def test_backup_rejects_nan_duplicates_and_changes_nothing():
    tree = mcts.Tree(widen_c=None)
    tree.select(1)
    expanded_root(tree, [0.5, 0.5])
    tree.backup([ROOT], [0.0])
    sel = tree.select(2)
    before = tree.nodes()
    with pytest.raises(ValueError, match="not finite"):
        tree.backup(sel.leaves, [1.0, float("nan")])
    with pytest.raises(ValueError, match="twice"):
        tree.backup([sel.leaves[0], sel.leaves[0]], [1.0, 1.0])
    with pytest.raises(ValueError, match="pending"):
        tree.reroot(1)
    after = tree.nodes()
    np.testing.assert_array_equal(before.visits, after.visits)
    np.testing.assert_array_equal(before.in_flight, after.in_flight)
    tree.backup(sel.leaves, [1.0, 2.0])


def test_concurrent_threads_are_serialised():
    tree = mcts.Tree(widen_c=None)

    def worker():
        for _ in range(200):
            sel = tree.select(2)
            open_leaves = sel.leaves[sel.needs_expansion]
            tree.expand(np.repeat(open_leaves, 2), np.full(2 * open_leaves.size, 0.5))
            tree.backup(sel.leaves, np.ones(len(sel)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tree.node(ROOT).visits == tree.nodes().visits[tree.nodes().parent == ROOT].sum() + 1
    assert (tree.nodes().in_flight == 0).all()
