"""Subcommands of ``mcts-llm``: one module each, exposing ``register(subparsers)``.

``register`` adds its parser and sets ``run=<function(args) -> int>`` as the parser default.
Heavy imports (torch, vllm) happen inside ``run`` so that ``mcts-llm --help`` stays instant.
"""

# Listed in the order `mcts-llm --help` shows them.
COMMAND_MODULES: tuple[str, ...] = (
    "mcts.commands.search",
    "mcts.commands.show",
    "mcts.commands.report",
    "mcts.commands.train",
    "mcts.commands.export_pairs",
    "mcts.commands.fit_rewards",
    "mcts.commands.teachers",
)
