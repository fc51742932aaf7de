"""mcts-llm: Monte-Carlo tree search over LLM generation with an adaptive teacher ensemble."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcts-llm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
