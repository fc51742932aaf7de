"""mcts-llm: Monte-Carlo tree search over LLM generation with an adaptive teacher ensemble."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcts-llm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

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
