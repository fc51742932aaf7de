"""Reading what a search run wrote (``trajectories.jsonl``) and regrouping it as a tree.

Every row is one root-to-terminal path; paths of one task share their first steps. Training needs
the *distinct nodes* (a shared step counted once) and the *sibling groups* (children of one parent),
so this module rebuilds both from the rows. Node identity comes from the rows' ``node_ids`` /
``parent_ids`` when present (exact: merged proposals stay one node); otherwise from the text prefix
(two steps are the same node when the prompt and every step up to and including them are equal).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mcts.types import Step, Trajectory

TRAJECTORIES_FILE = "trajectories.jsonl"


@dataclass(frozen=True)
class PathRecord:
    """One row of ``trajectories.jsonl``: the path, plus the tree ids of its steps when logged."""

    trajectory: Trajectory
    node_ids: tuple[int, ...] | None = None
    parent_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TreeNode:
    """One distinct step of a task's tree, seen on one or more logged paths.

    ``prefix`` holds the texts of the steps before this one (the state it was taken from is
    ``prompt + "".join(prefix)``). ``mc_return`` / ``solved_rate`` average ``final_reward`` /
    ``solved`` over the logged paths that pass through the node (Monte-Carlo estimates).
    """

    task_id: str
    prompt: str
    prefix: tuple[str, ...]
    step: Step
    key: tuple
    parent_key: tuple
    depth: int
    mc_return: float
    solved_rate: float
    num_paths: int

    @property
    def context(self) -> str:
        return self.prompt + "".join(self.prefix)


def record_from_row(row: dict) -> PathRecord:
    """Parses one JSON row (the ``trajectories.jsonl`` schema) into a :class:`PathRecord`."""
    trajectory = Trajectory.from_json(row)
    # An empty id list on a path with steps means the writer did not know the ids: fall back to text.
    node_ids = trajectory.node_ids or None
    parent_ids = tuple(int(i) for i in row.get("parent_ids") or ()) or None
    if node_ids is not None and parent_ids is None:
        parent_ids = (0, *node_ids[:-1])  # step 0 hangs off the root (node 0)
    if parent_ids is not None and len(parent_ids) != len(trajectory.steps):
        raise ValueError(
            f"task {trajectory.task_id!r}: parent_ids has {len(parent_ids)} entries for {len(trajectory.steps)} steps"
        )
    return PathRecord(trajectory, node_ids, parent_ids)


def trajectories_path(run: str | Path) -> Path:
    """``run`` may be a run directory or the ``trajectories.jsonl`` file itself."""
    path = Path(run)
    if path.is_dir():
        path = path / TRAJECTORIES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {TRAJECTORIES_FILE} at {path}; pass a run directory written by `mcts-llm search`")
    return path


def load_records(run: str | Path) -> list[PathRecord]:
    """Reads every path of a run. A truncated last line (a run killed mid-write) is skipped;
    a malformed line anywhere else is an error naming the line."""
    path = trajectories_path(run)
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):
                break  # the write that was cut off; everything before it is whole
            raise ValueError(f"{path}:{number} is not valid JSON ({error})") from error
        records.append(record_from_row(row))
    check_against_ledger(path, records)
    return records


def check_against_ledger(path: Path, records: Sequence[PathRecord]) -> None:
    """When the run's ``tasks.jsonl`` records how many paths each finished task wrote, every one of
    them must be here: a truncated or edited ``trajectories.jsonl`` is an error naming the tasks."""
    ledger = path.with_name("tasks.jsonl")
    if not ledger.is_file():
        return
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[record.trajectory.task_id] += 1
    short = []
    for line in ledger.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last ledger line: that task never finished
        expected = row.get("trajectories")
        if isinstance(expected, int) and counts.get(row.get("task_id"), 0) < expected:
            short.append(f"{row.get('task_id')} ({counts.get(row.get('task_id'), 0)} of {expected})")
    if short:
        raise ValueError(
            f"{path} lacks paths that {ledger.name} recorded for {len(short)} finished task(s): "
            f"{', '.join(short[:5])}{' ...' if len(short) > 5 else ''}; the file was cut or edited "
            "(rerun those tasks with `mcts-llm search --resume` after removing their rows from tasks.jsonl)"
        )


def node_key(record: PathRecord, depth: int) -> tuple[tuple, tuple]:
    """The keys of the node of step ``depth`` of a path and of its parent: tree ids when logged,
    else the text prefix (see the module docstring)."""
    traj = record.trajectory
    if record.node_ids is not None and record.parent_ids is not None:
        return (traj.task_id, "id", record.node_ids[depth]), (traj.task_id, "id", record.parent_ids[depth])
    prefix = tuple(s.text for s in traj.steps[:depth])
    return ((traj.task_id, "text", traj.prompt, prefix + (traj.steps[depth].text,)),
            (traj.task_id, "text", traj.prompt, prefix))


def collect_nodes(records: Iterable[PathRecord]) -> list[TreeNode]:
    """The distinct nodes of all paths, in first-seen order (a node shared by paths appears once;
    its statistics come from the last path that logged it, its Monte-Carlo averages from all)."""
    returns: dict[tuple, list[float]] = defaultdict(list)
    solved: dict[tuple, list[float]] = defaultdict(list)
    latest: dict[tuple, tuple] = {}
    for record in records:
        traj = record.trajectory
        for depth, step in enumerate(traj.steps):
            prefix = tuple(s.text for s in traj.steps[:depth])
            key, parent = node_key(record, depth)
            returns[key].append(traj.final_reward)
            solved[key].append(1.0 if traj.solved else 0.0)
            latest[key] = (traj, prefix, step, parent, depth)
    nodes = []
    for key, (traj, prefix, step, parent, depth) in latest.items():
        nodes.append(
            TreeNode(
                task_id=traj.task_id,
                prompt=traj.prompt,
                prefix=prefix,
                step=step,
                key=key,
                parent_key=parent,
                depth=depth,
                mc_return=math.fsum(returns[key]) / len(returns[key]),
                solved_rate=math.fsum(solved[key]) / len(solved[key]),
                num_paths=len(returns[key]),
            )
        )
    return nodes


def sibling_groups(nodes: Sequence[TreeNode], min_size: int = 2) -> list[list[TreeNode]]:
    """Children of one parent node (same task), groups of at least ``min_size``, in first-seen order."""
    groups: dict[tuple, list[TreeNode]] = defaultdict(list)
    for node in nodes:
        groups[node.parent_key].append(node)
    return [group for group in groups.values() if len(group) >= min_size]
