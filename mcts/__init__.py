"""mcts-llm: Monte-Carlo tree search over LLM generation with an adaptive teacher ensemble."""

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("mcts-llm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def _borrow_installed_core() -> None:
    """Run from the repository root after a plain ``pip install .``, the source ``mcts/`` shadows the
    installed package and has no native ``_core`` beside it: then ``_core`` is taken from the installed
    package (the Python modules stay the source's). An editable install supplies ``_core`` through its
    own import hook and needs nothing here."""
    here = Path(__file__).resolve().parent
    if any((here / f"_core{suffix}").is_file() for suffix in EXTENSION_SUFFIXES):
        return
    for entry in sys.path:
        installed = (Path(entry or ".") / "mcts").resolve()
        if installed != here and any((installed / f"_core{suffix}").is_file() for suffix in EXTENSION_SUFFIXES):
            __path__.append(str(installed))
            return


_borrow_installed_core()
try:
    from mcts import _core  # noqa: F401  (the native core; mcts.tree and mcts.weights wrap it)
except ImportError as exc:
    raise ImportError(
        f"mcts._core, the native core, is not built for the sources in {Path(__file__).resolve().parent}: "
        'run pip install --no-build-isolation -Ceditable.rebuild=true -e ".[cpu,test]" (or pip install ".[cpu,test]")'
    ) from exc

from mcts.tree import (
    BYTES_PER_NODE,
    NO_PARENT,
    NO_TEACHER,
    ROOT,
    LeafKind,
    NodeArrays,
    Selection,
    Tree,
    TreeConfig,
    TreeFullError,
)
from mcts.tree_io import TreeFormatError, dumps_tree, load_tree, loads_tree, save_tree
from mcts.weights import TeacherWeights, WeightsConfig

__all__ = [
    "BYTES_PER_NODE",
    "NO_PARENT",
    "NO_TEACHER",
    "ROOT",
    "LeafKind",
    "NodeArrays",
    "Selection",
    "TeacherWeights",
    "Tree",
    "TreeConfig",
    "TreeFormatError",
    "TreeFullError",
    "WeightsConfig",
    "__version__",
    "dumps_tree",
    "load_tree",
    "loads_tree",
    "save_tree",
]
