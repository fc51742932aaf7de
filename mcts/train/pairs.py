"""Chosen/rejected pairs from the trees, for DPO / ORPO (TRL's ``DPOTrainer`` / ``ORPOTrainer``).

Siblings share a state, so they make clean preference pairs: same prompt (task prompt + the
shared prefix), two different next steps, one with a clearly higher backed-up value. Rows are the
standard-format preference columns ``prompt`` / ``chosen`` / ``rejected`` that TRL reads, plus
``task_id``, ``chosen_value``, ``rejected_value`` for inspection.

TRL's DPO and ORPO trainers end every completion with EOS, which is right only for a text that
ends the response. ``to_terminal=True`` therefore continues each step with the best logged path
below it (the highest ``final_reward`` through that node) down to its terminal step: the pair
still differs first at the sibling step, and the EOS the trainer adds sits where the path ended.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Literal

from mcts.files import atomic_write_lines
from mcts.train.tree_data import PathRecord, TreeNode, collect_nodes, load_records, node_key, sibling_groups


def _value(node: TreeNode, value: str) -> float:
    return node.step.q if value == "q" else node.mc_return


def preference_pairs(
    records: Sequence[PathRecord],
    *,
    margin: float = 0.1,
    value: Literal["q", "mc_return"] = "q",
    min_visits: int = 1,
    max_pairs_per_group: int | None = 4,
    to_terminal: bool = False,
) -> list[dict]:
    """Pairs of siblings whose values differ by at least ``margin``, the largest gaps first
    within each group (at most ``max_pairs_per_group`` per parent; ``None`` = all); with
    ``to_terminal`` each side runs on to the end of its best logged path (module docstring)."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if value not in ("q", "mc_return"):
        raise ValueError(f"value must be 'q' or 'mc_return', got {value!r}")
    nodes = [n for n in collect_nodes(records) if n.step.visits >= min_visits]
    tails = best_tails(records) if to_terminal else {}
    rows = []
    for group in sibling_groups(nodes):
        candidates = []
        for a, b in combinations(group, 2):
            hi, lo = (a, b) if _value(a, value) >= _value(b, value) else (b, a)
            gap = _value(hi, value) - _value(lo, value)
            if gap >= margin and gap > 0 and hi.step.text != lo.step.text:
                candidates.append((gap, hi, lo))
        candidates.sort(key=lambda c: -c[0])
        for _, hi, lo in candidates[:max_pairs_per_group]:
            rows.append({
                "prompt": hi.context,
                "chosen": hi.step.text + tails.get(hi.key, ""),
                "rejected": lo.step.text + tails.get(lo.key, ""),
                "task_id": hi.task_id,
                "chosen_value": _value(hi, value),
                "rejected_value": _value(lo, value),
            })
    return rows


def best_tails(records: Sequence[PathRecord]) -> dict[tuple, str]:
    """For every node, the text after it on the logged path through it with the highest return."""
    best: dict[tuple, tuple[float, str]] = {}
    for record in records:
        traj = record.trajectory
        for depth in range(len(traj.steps)):
            key, _ = node_key(record, depth)
            if key not in best or traj.final_reward > best[key][0]:
                best[key] = (traj.final_reward, "".join(s.text for s in traj.steps[depth + 1:]))
    return {key: tail for key, (_, tail) in best.items()}


def export_pairs(
    run: str | Path | Sequence[PathRecord],
    out_path: str | Path,
    margin: float = 0.1,
    **options,
) -> int:
    """Writes :func:`preference_pairs` of a run as JSONL (atomically) and returns the row count.

    Load with ``datasets.load_dataset("json", data_files=str(out_path))["train"]`` and hand it to
    ``trl.DPOTrainer`` / ``trl.ORPOTrainer`` as ``train_dataset``.
    """
    records = load_records(run) if isinstance(run, (str, Path)) else list(run)
    rows = preference_pairs(records, margin=margin, **options)
    out = Path(out_path)
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; pass a file path such as {out / 'pairs.jsonl'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_lines(out, (json.dumps(row, ensure_ascii=False) for row in rows))
    return len(rows)
