"""Datasets for value networks: (prompt + partial text) -> backed-up Q, visits, final outcome.

One example per distinct tree node seen in a run's ``trajectories.jsonl`` (a step shared by several
logged paths is one example, not several). Splits go by *task id*: every node of a task lands on
the same side, so held-out numbers measure generalisation to unseen puzzles, not to unseen
siblings of trained-on nodes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcts.train.tree_data import PathRecord, collect_nodes, load_records
from mcts.types import ScoredText

Target = Literal["q", "mc_return", "outcome", "mix"]


def state_text(prompt: str, steps: Sequence[str]) -> str:
    """What a value network reads: the task prompt followed by the steps so far, verbatim."""
    return prompt + "".join(steps)


@dataclass(frozen=True)
class ValueExample:
    """One node of a searched tree.

    ``q``: the node's backed-up mean value; ``visits``: its visit count; ``outcome``: fraction of
    the logged paths through it that solved the task (in [0, 1]); ``mc_return``: mean
    ``final_reward`` of those paths (the Monte-Carlo return). Examples read from a tree
    (:func:`value.tree_values.tree_examples`) count ``terminals``: the terminal nodes below the node
    that ``mc_return`` and ``outcome`` average over (0 when read from logged paths).
    """

    task_id: str
    prompt: str
    steps: tuple[str, ...]
    q: float
    visits: int
    outcome: float
    mc_return: float
    terminals: int = 0

    @property
    def text(self) -> str:
        return state_text(self.prompt, self.steps)

    @property
    def state(self) -> ScoredText:
        return ScoredText(prompt=self.prompt, steps=self.steps, task_id=self.task_id)

    def target(self, name: Target) -> float:
        if name == "q":
            return self.q
        if name == "mc_return":
            return self.mc_return
        if name == "outcome":
            return self.outcome
        if name == "mix":  # both Monte-Carlo estimates pooled, each weighted by its sample count
            samples = self.visits + self.terminals
            return (self.visits * self.q + self.terminals * self.mc_return) / samples if samples else self.q
        raise ValueError(f"unknown value target {name!r}; use 'q', 'mc_return', 'outcome' or 'mix'")


def value_examples(records: Iterable[PathRecord], *, min_visits: int = 1) -> list[ValueExample]:
    """The distinct nodes of the logged paths with at least ``min_visits`` visits."""
    return [
        ValueExample(
            task_id=node.task_id,
            prompt=node.prompt,
            steps=node.prefix + (node.step.text,),
            q=node.step.q,
            visits=node.step.visits,
            outcome=node.solved_rate,
            mc_return=node.mc_return,
        )
        for node in collect_nodes(records)
        if node.step.visits >= min_visits
    ]


def load_value_examples(runs: str | Path | Sequence[str | Path], *, min_visits: int = 1) -> list[ValueExample]:
    """Examples from one run directory (or ``trajectories.jsonl``) or several."""
    run_list = [runs] if isinstance(runs, (str, Path)) else list(runs)
    records = [r for run in run_list for r in load_records(run)]
    return value_examples(records, min_visits=min_visits)


def split_by_task(
    examples: Sequence[ValueExample], held_out: float = 0.2, seed: int = 0
) -> tuple[list[ValueExample], list[ValueExample]]:
    """``(train, held_out)``: a seeded shuffle of the distinct task ids, the last
    ``ceil(held_out * n_tasks)`` held out (at least one when there are two or more tasks)."""
    if not 0.0 <= held_out < 1.0:
        raise ValueError(f"held_out must be in [0, 1), got {held_out}")
    tasks = sorted({e.task_id for e in examples})
    random.Random(seed).shuffle(tasks)
    n_held = math.ceil(held_out * len(tasks)) if held_out > 0 else 0
    if held_out > 0 and len(tasks) >= 2:
        n_held = min(max(n_held, 1), len(tasks) - 1)
    held_tasks = set(tasks[len(tasks) - n_held:]) if n_held else set()
    train = [e for e in examples if e.task_id not in held_tasks]
    held = [e for e in examples if e.task_id in held_tasks]
    return train, held
