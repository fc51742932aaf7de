"""Run a search over many tasks: one teacher-weight state for the whole run, outputs as tasks finish.

The teacher weights carry over from task to task (the ensemble learns which teachers to trust across
the data set); each task's tree is saved together with the weights as they were after it, so
``--resume`` picks up the weights of the last finished task.

With ``concurrent_tasks`` > 1, that many searches run at once on the shared weights, and their
teacher requests are batched by a :class:`~mcts.search.coalesce.RequestCoalescer` (one call per
teacher whenever every search is waiting). Results stay reproducible for a given setting, but
differ from a sequential run: the weights each task sees depend on which tasks ran beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mcts.run.config import RunConfig, load_run_config, resume_conflicts, to_toml
from mcts.run.rundir import DiskFullError, RunDir
from mcts.search import LeafEvaluator, Searcher, SearchTask
from mcts.tree_io import load_tree, save_tree
from mcts.types import Judge, Teacher, TerminalValidator
from mcts.weights import TeacherWeights

if TYPE_CHECKING:
    from mcts.run.ray_backend import RayBackend

log = logging.getLogger(__name__)


@dataclass
class RunTotals:
    tasks: int = 0
    solved: int = 0
    tokens: int = 0
    simulations: int = 0
    seconds: float = 0.0  # summed over tasks (overlapping when tasks run concurrently)
    wall_seconds: float = 0.0  # this call's wall time
    stopped: str | None = None

    def add(self, row: dict) -> None:
        self.tasks += 1
        self.solved += bool(row["solved"])
        self.tokens += int(row["tokens"])
        self.simulations += int(row["simulations"])
        self.seconds += float(row["seconds"])


LIVE_CONTEXTS = 8  # context rows the live table shows at most


def weights_table(weights: TeacherWeights) -> Table:
    """The global probabilities, then, with per-context weights, the leading teacher of each context."""
    table = Table(title="teacher weights", expand=False)
    table.add_column("teacher")
    table.add_column("p", justify="right")
    table.add_column("", justify="left")
    for name, p in zip(weights.names, weights.probabilities()):
        table.add_row(name, f"{p:.3f}", "█" * int(round(p * 30)))
    for context in range(min(weights.num_contexts, LIVE_CONTEXTS)):  # none without per-context weights
        if weights.evidence(context):
            probs = weights.probabilities(context)
            lead = int(probs.argmax())
            table.add_row(f"context {context}: {weights.names[lead]}", f"{probs[lead]:.3f}",
                          f"leads ({weights.evidence(context)} credits)")
    return table


def run_search(
    config: RunConfig,
    tasks: Sequence[SearchTask],
    teachers: Sequence[Teacher],
    *,
    resume: bool = False,
    evaluator_factory: Callable[[], LeafEvaluator] | None = None,
    judge: Judge | None = None,
    validator: TerminalValidator | None = None,
    console: Console | None = None,
    allow_config_change: Sequence[str] = (),
    backend: RayBackend | None = None,
) -> RunTotals:
    """Search every task not yet finished in ``config.out``; returns the run's totals.

    Resuming refuses a config that differs from the run's own ``config.toml`` in anything that
    changes results (``ValueError`` listing the keys), except the keys in ``allow_config_change``
    (e.g. a budget that may grow); the run's ``config.toml`` is never overwritten.

    With a ``backend`` (:class:`~mcts.run.ray_backend.RayBackend`, ``--ray``) the tasks are searched
    on its workers (``teachers`` may then be empty: the backend names them); this process still
    writes every output, so a run resumes with or without Ray.
    """
    return asyncio.run(
        _run(config, tasks, teachers, resume, evaluator_factory, judge, validator, console or Console(stderr=True),
             allow_config_change, backend)
    )


async def _run(config, tasks, teachers, resume, evaluator_factory, judge, validator, console, allowed, backend=None) -> RunTotals:
    started = time.monotonic()
    run_dir = RunDir(config.out, min_free_mb=config.min_free_mb)
    if resume and run_dir.config.exists():
        conflicts = resume_conflicts(load_run_config(run_dir.config), config, allowed)
        if conflicts:
            raise ValueError(
                f"--resume: the run in {run_dir.path} was made with other settings ({'; '.join(conflicts)}); "
                "resume with the same settings, or allow a change with --allow-config-change KEY"
            )
    run_dir.create(resume=resume)
    if not run_dir.config.exists():
        run_dir.write_config(to_toml(config))
    names = backend.teacher_names if backend is not None else [t.name for t in teachers]
    weights = config.search.weights.build(names, config.search.seed)
    totals = RunTotals()
    done = run_dir.finished_task_ids()
    for row in run_dir.finished_rows():
        totals.add(row)
    if done:
        weights = resume_weights(run_dir, tasks, done) or weights
        console.print(f"resuming {run_dir.path}: {len(done)} task(s) already finished")

    todo = [t for t in tasks if t.id not in done]
    progress = Progress(
        TextColumn("[bold]search"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("solved {task.fields[solved]}  tokens {task.fields[tokens]}"),
        TimeElapsedColumn(),
        console=console,
    )
    bar = progress.add_task("tasks", total=len(tasks), completed=len(done), solved=totals.solved, tokens=totals.tokens)
    searcher = backend or Searcher(
        teachers, config.search, weights=weights, judge=judge, evaluator=evaluator_factory, validator=validator
    )

    def saved(i: int, result) -> bool:
        index, task = len(done) + i, todo[i]
        if result.interrupted and not totals.stopped:
            # Not a finished task: nothing of it is recorded, and --resume searches it again.
            totals.stopped = f"stopped at task {task.id}: {result.interrupted}; fix the teachers, then --resume"
            console.print(f"[red]{escape(totals.stopped)}[/red]")
        if totals.stopped or not save_task(run_dir, index, task, result, searcher.weights, totals, console):
            return False
        progress.update(bar, advance=1, solved=totals.solved, tokens=totals.tokens)
        live.update(Group(progress, weights_table(searcher.weights)))
        return True

    with Live(Group(progress, weights_table(weights)), console=console, refresh_per_second=4, transient=False) as live:
        if backend is None:
            await searcher.search_many_async(todo, concurrent=config.concurrent_tasks, on_result=saved)
        else:
            await backend.search_many_async(todo, weights, on_result=saved)
            totals.stopped = totals.stopped or backend.stopped
    weights = searcher.weights
    totals.wall_seconds = time.monotonic() - started
    write_summary(run_dir, totals, weights)
    return totals


def save_task(run_dir, index, task, result, weights, totals, console) -> bool:
    """Saves one finished task (tree with the weights as they are now, weights row, trajectories) and
    adds it to the totals; False (and ``totals.stopped`` set) when the disk refused it."""
    try:
        run_dir.check_disk()
        save_tree(run_dir.tree_path(task.id), result.tree, weights)
        # the ledger row (record_task) is the commit point: a weights row of a task that never
        # reached it is dropped by --resume, so none is lost or doubled
        run_dir.record_weights(index, task.id, weights.names, weights.probabilities())
        run_dir.record_task(result)
    except (DiskFullError, OSError) as err:
        if not totals.stopped:
            totals.stopped = f"stopped before saving task {task.id}: {err}"
            console.print(f"[red]{escape(totals.stopped)}[/red]")
        return False
    totals.add(
        {"solved": result.solved, "tokens": result.generated_tokens, "simulations": result.simulations, "seconds": result.seconds}
    )
    write_summary(run_dir, totals, weights)
    return True


def resume_weights(run_dir: RunDir, tasks: Sequence[SearchTask], done: set[str]) -> TeacherWeights | None:
    """The weights saved with the last finished task's tree (None if no tree file can be read)."""
    for task in reversed(tasks):
        if task.id in done and run_dir.tree_path(task.id).exists():
            try:
                _, weights = load_tree(run_dir.tree_path(task.id))
            except ValueError as err:
                log.warning("cannot restore weights from %s: %s", run_dir.tree_path(task.id), err)
                return None
            return weights
    return None


def write_summary(run_dir: RunDir, totals: RunTotals, weights: TeacherWeights) -> None:
    try:
        run_dir.write_summary(
            {
                "tasks": totals.tasks,
                "solved": totals.solved,
                "solve_rate": totals.solved / totals.tasks if totals.tasks else 0.0,
                "tokens": totals.tokens,
                "simulations": totals.simulations,
                "seconds": round(totals.seconds, 3),
                "wall_seconds": round(totals.wall_seconds, 3),
                "teacher_probabilities": dict(zip(weights.names, map(float, weights.probabilities()))),
                "stopped": totals.stopped,
            }
        )
    except OSError as err:  # a full disk must not lose what is already on it
        log.error("could not write summary.json: %s", err)
