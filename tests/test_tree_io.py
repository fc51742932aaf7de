"""Saving and loading trees with their weights: round trips, corrupt files, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mcts
from mcts import ROOT

DATA = Path(__file__).parent / "data"


def searched_tree(seed: int = 0, steps: int = 30) -> tuple[mcts.Tree, mcts.TeacherWeights]:
    """A small search whose weights are keyed by depth (a leaf's context is its depth)."""
    rng = np.random.default_rng(seed)
    tree = mcts.Tree(rule="ucb1", discount=0.95, widen_c=2.0)
    weights = mcts.TeacherWeights(["small", "large", "judge"], seed=seed, max_contexts=4)
    for _ in range(steps):
        sel = tree.select(4)
        open_leaves = sel.leaves[~sel.is_terminal]
        parents = np.repeat(open_leaves, 2)
        depths = np.minimum(tree.nodes(parents).depth, 3)
        teachers = weights.sample_per_context(depths, 1).reshape(-1)
        tree.expand(parents, rng.random(parents.size), teachers, rng.normal(size=parents.size),
                    rng.random(parents.size) < 0.2, [f"step {i} é\n" for i in range(parents.size)])
        values = rng.normal(size=len(sel))
        tree.backup(sel.leaves, values)
        for leaf, value in zip(sel.leaves, values):
            path_teachers = tree.teachers(leaf)  # root first; step j was drawn at depth j - 1
            weights.credit_path(path_teachers, float(value > 0), np.minimum(np.arange(len(path_teachers)) - 1, 3))
    return tree, weights


def assert_same_weights(a: mcts.TeacherWeights, b: mcts.TeacherWeights) -> None:
    assert a.names == b.names and a.config == b.config and a.num_contexts == b.num_contexts
    for context in [None, *range(a.num_contexts)]:
        for read in ("scores", "unseen", "draws_since_pick", "pick_counts", "history", "probabilities"):
            np.testing.assert_array_equal(getattr(a, read)(context), getattr(b, read)(context), err_msg=read)
        if context is not None:
            assert a.evidence(context) == b.evidence(context)
            np.testing.assert_array_equal(a.history_rows(context), b.history_rows(context))


def assert_same_tree(a: mcts.Tree, b: mcts.Tree) -> None:
    assert len(a) == len(b) and a.config == b.config and a.q_bounds() == b.q_bounds()
    na, nb = a.nodes(), b.nodes()
    for field in ("parent", "depth", "visits", "value_sum", "prior", "reward", "teacher", "terminal", "expanded",
                  "saturated", "in_flight"):
        np.testing.assert_array_equal(getattr(na, field), getattr(nb, field), err_msg=field)
    assert a.actions(range(len(a))) == b.actions(range(len(b)))


def test_round_trip_restores_tree_weights_and_rng(tmp_path):
    tree, weights = searched_tree()
    path = mcts.save_tree(tmp_path / "run" / "tree.bin", tree, weights)
    loaded, loaded_weights = mcts.load_tree(path)
    assert_same_tree(tree, loaded)
    assert weights.num_contexts == 4 and min(weights.evidence(c) for c in range(3)) > 0  # depth contexts in use
    assert_same_weights(weights, loaded_weights)
    # The search continues identically: same selections, same teacher draws, in every context.
    assert loaded_weights.sample(20).tolist() == weights.sample(20).tolist()
    contexts = [0, 1, 2, 3, 3, 2, 1, 0]
    assert loaded_weights.sample_per_context(contexts, 3).tolist() == weights.sample_per_context(contexts, 3).tolist()
    a, b = tree.select(5), loaded.select(5)
    assert a.leaves.tolist() == b.leaves.tolist() and a.path_nodes.tolist() == b.path_nodes.tolist()


def test_a_version_1_file_without_contexts_still_loads():
    """Written by the build before contexts (commit a2e42b1): 3 teachers, seed 11, sample(5),
    credit_path([0, 1, 2], 1), update(1, 0), sample(3); its next draws were [0, 2, 0, 1]."""
    tree, weights = mcts.load_tree(DATA / "weights_format_v1.tree")
    assert len(tree) == 3 and weights.names == ("expert", "noisy", "format")
    assert weights.num_contexts == 0 and weights.config == mcts.WeightsConfig(max_weight=0.8, ema_rate=0.02, warmup=False)  # its settings
    np.testing.assert_array_equal(weights.scores(), [0.016200000000000003, 0.017640000000000003, 0.02])
    assert weights.draws_since_pick().tolist() == [1, 2, 0] and weights.pick_counts().tolist() == [4, 2, 2]
    assert weights.history().shape == (3, 3)
    assert weights.sample(4).tolist() == [0, 2, 0, 1]
    # It goes on with contexts, and saves in the current version.
    weights.credit_path([0, 1], 1.0, contexts=[0, 1])
    assert_same_weights(weights, mcts.loads_tree(mcts.dumps_tree(tree, weights))[1])


def test_a_version_2_file_with_contexts_loads_as_it_ran_without_warm_up():
    """Written by the build before warm-up (commit 24c1b40): 3 teachers, seed 11, ema_rate 0.02, cap 0.8,
    sample(5), credit_path([0, 1, 2], 1, contexts=[0, 1, 2]), update(1, 0, context=1), sample(3, context=0);
    the numbers below are what that build printed after saving."""
    tree, weights = mcts.load_tree(DATA / "weights_format_v2.tree")
    assert len(tree) == 1 and weights.num_contexts == 3
    assert weights.config == mcts.WeightsConfig(max_weight=0.8, ema_rate=0.02, warmup=False)
    np.testing.assert_array_equal(weights.scores(), [0.016200000000000003, 0.017640000000000003, 0.02])
    assert [weights.evidence(c) for c in range(3)] == [1, 2, 1]
    for context in (None, 0, 1, 2):
        assert not weights.unseen(context).any()  # read as fully warmed: the raw scores, as it ran
    np.testing.assert_array_equal(weights.probabilities(), [0.32173155363116973, 0.3311321410753213, 0.3471363052935091])
    np.testing.assert_array_equal(weights.probabilities(1), [0.31728843483437624, 0.34467820728090304, 0.3380333578847208])
    assert weights.sample(4).tolist() == [0, 2, 0, 1] and weights.sample(3, context=1).tolist() == [2, 2, 2]
    weights.update(0, 1.0, context=0)  # it goes on, and saves in the current version
    assert_same_weights(weights, mcts.loads_tree(mcts.dumps_tree(tree, weights))[1])


def test_a_tree_without_weights_loads_as_none(tmp_path):
    tree, _ = searched_tree(steps=3)
    loaded, weights = mcts.load_tree(mcts.save_tree(tmp_path / "t.bin", tree))
    assert weights is None
    assert_same_tree(tree, loaded)


def test_saving_with_pending_selections_is_refused(tmp_path):
    tree, _ = searched_tree(steps=3)
    tree.select(1)
    with pytest.raises(ValueError, match="pending"):
        mcts.save_tree(tmp_path / "t.bin", tree)
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_save_replaces_the_old_file_atomically(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(b"old")
    tree, weights = searched_tree(steps=3)
    mcts.save_tree(path, tree, weights)
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]
    assert mcts.load_tree(path)[0] is not None


def test_every_truncation_raises_a_format_error():
    tree, weights = searched_tree(steps=5)
    data = mcts.dumps_tree(tree, weights)
    for cut in list(range(0, 64)) + list(range(64, len(data), 7)):
        with pytest.raises(mcts.TreeFormatError):
            mcts.loads_tree(data[:cut])


def test_flipped_bits_raise_a_format_error():
    tree, weights = searched_tree(steps=5)
    data = bytearray(mcts.dumps_tree(tree, weights))
    rng = np.random.default_rng(1)
    for position in rng.integers(0, len(data), 200).tolist():
        corrupt = bytearray(data)
        corrupt[position] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(mcts.TreeFormatError):
            mcts.loads_tree(bytes(corrupt))


def test_wrong_magic_version_and_garbage_are_named():
    tree, _ = searched_tree(steps=2)
    data = bytearray(mcts.dumps_tree(tree))
    with pytest.raises(mcts.TreeFormatError, match="not an mcts-llm tree file"):
        mcts.loads_tree(b"PK\x03\x04" + bytes(data[4:]))
    newer = bytearray(data)
    newer[8] = 99
    with pytest.raises(mcts.TreeFormatError, match="version 99 is not supported"):
        mcts.loads_tree(bytes(newer))
    with pytest.raises(mcts.TreeFormatError):
        mcts.loads_tree(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    assert issubclass(mcts.TreeFormatError, ValueError)


def test_a_consistent_checksum_does_not_let_bad_structure_through():
    """A crafted file with a valid checksum but a parent pointing forward is still rejected."""
    from mcts._core import deserialize_tree  # noqa: F401  (only to show the check is native)

    tree = mcts.Tree()
    tree.expand([ROOT, ROOT], [0.5, 0.5])
    data = bytearray(mcts.dumps_tree(tree))
    header, node_count = 24, 3
    parents_at = header + 1 + 6 * 8 + 8 + 2 * 8 + 2 * 8  # rule, 6 doubles, max_nodes, q range, n, arena
    assert np.frombuffer(bytes(data[parents_at : parents_at + 4 * node_count]), np.int32).tolist() == [-1, 0, 0]
    data[parents_at + 4 : parents_at + 8] = np.int32(2).tobytes()  # node 1's parent := node 2 (not older)
    import struct

    checksum = _fnv1a64(bytes(data[:-8]))
    data[-8:] = struct.pack("<Q", checksum)
    with pytest.raises(mcts.TreeFormatError, match="node 1: parent 2"):
        mcts.loads_tree(bytes(data))


def _fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h
