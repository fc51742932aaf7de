"""The native module's named results match its stub (mcts/_core.pyi): the same types, the same
field names in the same order, and the methods return them."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from mcts import _core

STUB = Path(_core.__file__).parent / "_core.pyi"
if not STUB.is_file():  # an editable install keeps the stub with the sources
    STUB = Path(__file__).resolve().parent.parent / "mcts" / "_core.pyi"


def stub_results() -> dict[str, tuple[str, ...]]:
    """NamedTuple classes of the stub -> their field names."""
    out = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b) == "NamedTuple" for b in node.bases):
            out[node.name] = tuple(s.target.id for s in node.body if isinstance(s, ast.AnnAssign))
    return out


def test_every_named_result_of_the_stub_exists_with_its_fields():
    results = stub_results()
    assert len(results) >= 9
    for name, fields in results.items():
        assert getattr(_core, name).__match_args__ == fields, name


def test_methods_return_their_named_results():
    tree = _core.Tree(0, 1.25, 0.25, 1.0, 2.0, 0.5, 1.0, 1000)
    assert tree.config().max_nodes == 1000 and tree.config().c_explore == 1.25
    selection = tree.select(1)
    assert isinstance(selection, _core.SelectResult) and selection.leaves.tolist() == [0]
    tree.expand(np.zeros(2, np.int32), np.full(2, 0.5), np.zeros(2, np.int32), np.zeros(2), np.array([0, 1], np.uint8), None)
    tree.backup(selection.leaves, np.array([0.75]))
    nodes = tree.nodes(None)
    assert isinstance(nodes, _core.NodeColumns) and nodes.visits.tolist() == [1, 0, 0] and nodes.parent.tolist() == [-1, 0, 0]
    assert tree.q_bounds().low == tree.q_bounds().high == 0.75
    paths = tree.terminal_paths()
    assert paths.nodes.tolist() == [0, 2] and paths.offsets.tolist() == [0, 2]
    weights = _core.TeacherWeights(["a", "b"], 0.1, 1.0, 0.05, 0.1, 0.8, 0.1, 50, 0.9, 10.0, 16, True, 7)
    assert weights.config().max_stale_draws == 50
    weights.sample(3)
    state = weights.state()
    assert state.draws == 3 and state.picks.sum() == 3 and state.history.shape == (1, 2)
    loaded = _core.deserialize_tree(_core.serialize_tree(tree, weights))
    assert isinstance(loaded.tree, _core.Tree) and loaded.weights.names() == ["a", "b"]
    run = _core.native_benchmark(0, 1.25, 10, 2, 1, 0)
    assert run.simulations == 10 and run.cpu_seconds >= 0
