"""Saving and loading a tree together with its teacher weights.

The file is the native versioned binary format (layout in ``csrc/tree_io.h``: magic
``MCTSTREE``, format version, header, the per-node arrays, the action-text arena, the optional
weights state including its RNG, and an FNV-1a checksum). Files are written atomically: to a
temporary file in the same folder, flushed to disk, then renamed over the target, so a crash
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcts import _core
from mcts.tree import Tree
from mcts.weights import TeacherWeights

#: Raised for a file that is truncated, corrupt, of another format version, or not a tree file.
TreeFormatError = _core.TreeFormatError


def dumps_tree(tree: Tree, weights: TeacherWeights | None = None) -> bytes:
    """The tree (and weights) as bytes in the tree file format. No selection may be pending."""
    return _core.serialize_tree(tree._native, None if weights is None else weights._native)


def loads_tree(data: bytes) -> tuple[Tree, TeacherWeights | None]:
    """Inverse of ``dumps_tree``; raises ``TreeFormatError`` on any bad input."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    native_tree, native_weights = _core.deserialize_tree(bytes(data))
    weights = None if native_weights is None else TeacherWeights._wrap(native_weights)
    return Tree._wrap(native_tree), weights


def save_tree(path: str | os.PathLike[str], tree: Tree, weights: TeacherWeights | None = None) -> Path:
    """Writes ``tree`` (and ``weights``) to ``path`` atomically, creating its folder; returns the path."""
    target = Path(path)
    data = dumps_tree(tree, weights)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
    return target


def load_tree(path: str | os.PathLike[str]) -> tuple[Tree, TeacherWeights | None]:
    """Reads a file written by ``save_tree``: (tree, weights or None)."""
    return loads_tree(Path(path).read_bytes())
