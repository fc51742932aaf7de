"""The ``mcts-llm`` command line. Each subcommand lives in its own module and registers here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mcts import __version__
from mcts.commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcts-llm",
        description="Monte-Carlo tree search over LLM generation with an adaptive teacher ensemble.",
    )
    parser.add_argument("--version", action="version", version=f"mcts-llm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def quiet_libraries() -> None:
    """The commands draw their own progress (rich): keep transformers' per-load progress bars and
    one-time advisories off the terminal. Environment variables, read when the libraries are first
    imported, so ``--help`` stays instant; a user's own settings win."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def main(argv: Sequence[str] | None = None) -> int:
    quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
