"""Chosen/rejected pairs from the trees, for DPO / ORPO (TRL's ``DPOTrainer`` / ``ORPOTrainer``).

Siblings share a state, so they make clean preference pairs: same prompt (task prompt + the
shared prefix), two different next steps, one with a clearly higher backed-up value. Rows are the
standard-format preference columns ``prompt`` / ``chosen`` / ``rejected`` that TRL reads, plus
``task_id``, ``chosen_value``, ``rejected_value`` for inspection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Literal

from mcts.files import atomic_write_lines
from mcts.train.tree_data import PathRecord, TreeNode, collect_nodes, load_records, sibling_groups


def _value(node: TreeNode, value: str) -> float:
    return node.step.q if value == "q" else node.mc_return


def preference_pairs(
    records: Sequence[PathRecord],
    *,
    margin: float = 0.1,
    value: Literal["q", "mc_return"] = "q",
    min_visits: int = 1,
    max_pairs_per_group: int | None = 4,
) -> list[dict]:
    """Pairs of siblings whose values differ by at least ``margin``, the largest gaps first
    within each group (at most ``max_pairs_per_group`` per parent; ``None`` = all)."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if value not in ("q", "mc_return"):
        raise ValueError(f"value must be 'q' or 'mc_return', got {value!r}")
    nodes = [n for n in collect_nodes(records) if n.step.visits >= min_visits]
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
                "chosen": hi.step.text,
                "rejected": lo.step.text,
                "task_id": hi.task_id,
                "chosen_value": _value(hi, value),
                "rejected_value": _value(lo, value),
            })
    return rows


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
