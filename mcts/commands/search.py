"""``mcts-llm search``: generate trajectories by tree search (built-in countdown task by default)."""

from __future__ import annotations

import argparse
import logging


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "search",
        help="search tasks with the teacher ensemble and write trajectories",
        description="Run MCTS over LLM generation on every task and write a run directory "
        "(trajectories.jsonl, trees/, weights.csv, summary.json, config.toml). With no arguments: the built-in "
        "countdown task (seeded Game-of-24 puzzles) on the bundled teachers, offline.",
    )
    p.add_argument("--config", metavar="RUN.toml", help="a TOML file holding the whole run; flags override it")
    p.add_argument("--task", choices=["countdown", "text"], help="countdown (default) or text (JSONL prompts)")
    p.add_argument("--data", metavar="FILE.jsonl", help="tasks: countdown {id, numbers, target} or text {id, prompt, reference?}")
    p.add_argument(
        "--teacher", dest="teachers", action="append", metavar="SPEC",
        help="hf:PATH_OR_NAME, vllm:PATH_OR_NAME or openai:URL#MODEL (repeatable; default: the bundled teachers)",
    )
    p.add_argument("--num-tasks", type=int, help="how many generated countdown puzzles (without --data)")
    p.add_argument("--simulations", type=int, help="simulation budget per task")
    p.add_argument("--tokens", type=int, help="generated-token budget per task")
    p.add_argument("--seconds", type=float, help="wall-time budget per task")
    p.add_argument("--concurrent-tasks", type=int, metavar="N",
                   help="search N tasks at once, batching their teacher calls (default 1)")
    p.add_argument("--seed", type=int, help="seed for puzzles, sampling and teacher picks")
    p.add_argument("--static-weights", action="store_true", help="keep teacher weights at 1/N (uniform baseline)")
    judge = p.add_mutually_exclusive_group()
    judge.add_argument("--judge", metavar="MODEL", help="LMGT judge model (HF path or bundled name)")
    judge.add_argument("--no-judge", action="store_true", help="search without a judge")
    p.add_argument("--evaluation", choices=["rollout", "value", "blend"], help="leaf evaluation (default rollout)")
    p.add_argument("--step", metavar="RULE",
                   help="what one step is: newline (default), sentence, tokens:N, token, or regex:PATTERN (search.step)")
    p.add_argument("--value-net", metavar="DIR", help="value network dir (ValueNet.save) for --evaluation value|blend")
    p.add_argument("--device", help="device for local models: cpu or cuda")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/latest)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished tasks")
    p.add_argument("--allow-config-change", action="append", default=[], metavar="KEY",
                   help="with --resume, accept a changed setting (dotted key, e.g. search.budget.simulations)")
    p.add_argument("--min-free-mb", type=float, help="stop cleanly when free disk falls below this")
    p.add_argument("--ray", metavar="auto|ADDRESS",
                   help="search the tasks on a Ray cluster's workers (pip install 'mcts-llm[ray]'); this process writes --out")
    p.add_argument("--ray-workers", type=int, metavar="N", help="with --ray: how many workers (default: the cluster's CPUs)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every warning and retry")
    p.set_defaults(run=run)


def overrides_from(args: argparse.Namespace) -> dict:
    seed = args.seed
    return {
        "task": args.task,
        "data": args.data,
        "teachers": args.teachers,
        "num_tasks": args.num_tasks,
        "concurrent_tasks": args.concurrent_tasks,
        "seed": seed,
        "search.seed": seed,
        "out": args.out,
        "min_free_mb": args.min_free_mb,
        "device": args.device,
        "search.budget.simulations": args.simulations,
        "search.budget.tokens": args.tokens,
        "search.budget.seconds": args.seconds,
        "search.weights.dynamic": False if args.static_weights else None,
        "search.judge.model": args.judge,
        "search.judge.enabled": False if args.no_judge else None,
        "search.evaluation.mode": args.evaluation,
        "search.evaluation.value_net": args.value_net,
        "search.step": args.step,
    }


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from mcts.run.config import load_run_config
    from mcts.run.runner import run_search
    from mcts.run.replicas import build_replicated_teachers
    from mcts.run.setup import build_evaluator, build_judge, build_tasks, build_validator

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    backend = evaluator_factory = judge = validator = None
    teachers = []
    try:
        config = load_run_config(args.config, overrides_from(args))
        tasks = build_tasks(config)
        if args.ray:  # the workers build the teachers, judge and evaluator
            from mcts.run.ray_backend import RayBackend

            backend = RayBackend(config, args.ray, args.ray_workers)
        else:
            evaluator_factory = build_evaluator(config)
            teachers = build_replicated_teachers(config)
    except (ValueError, OSError, ImportError) as err:  # a bad config, data file or model path; no Ray
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2
    try:
        if backend is None:
            judge = build_judge(config)
            validator = build_validator(config)
        totals = run_search(
            config, tasks, teachers, resume=args.resume, judge=judge, validator=validator,
            evaluator_factory=evaluator_factory, console=console, allow_config_change=args.allow_config_change,
            backend=backend,
        )
    except (ValueError, OSError) as err:  # a bad setting, an existing run, a full disk at the start
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2
    finally:
        for teacher in teachers:
            teacher.close()
        if backend is not None:
            backend.close()
    console.print(
        f"{totals.solved}/{totals.tasks} solved, {totals.tokens} tokens, {totals.simulations} simulations "
        f"-> {config.out} (see `mcts-llm show {config.out}`)"
    )
    return 1 if totals.stopped else 0
