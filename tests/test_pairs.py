"""DPO/ORPO pairs: sibling selection with a margin, and a file that `datasets` reads with TRL's columns."""

from __future__ import annotations

import json

import pytest

from mcts.train.pairs import export_pairs, preference_pairs
from mcts.train.tree_data import record_from_row


def _row(task, steps, node_ids, parent_ids, final=0.0):
    return {"task_id": task, "prompt": "Make 10 from 2 5:", "final_reward": final, "solved": final > 0,
            "node_ids": node_ids, "parent_ids": parent_ids,
            "steps": [{"text": t, "tokens": 1, "teachers": ["p"], "prior": 0.3, "visits": v, "q": q, "reward": 0.0,
                       "reward_components": {}, "judge_shift": 0} for t, v, q in steps]}


ROWS = [
    _row("t1", [(" 2*5=10", 5, 0.9)], [1], [0], 1.0),
    _row("t1", [(" 2+5=7", 4, 0.2), (" 7+3", 2, 0.0)], [2, 4], [0, 2]),
    _row("t1", [(" 5-2=3", 3, 0.85)], [3], [0]),
    _row("t1", [(" 2+5=7", 4, 0.2), (" 7*1", 2, 0.05)], [2, 5], [0, 2]),
]


def test_pairs_respect_margin_and_order_by_value():
    records = [record_from_row(r) for r in ROWS]
    pairs = preference_pairs(records, margin=0.1)
    got = {(p["chosen"], p["rejected"]) for p in pairs}
    # root children: .9 / .2 / .85 -> (.9,.2) and (.85,.2) pass, (.9,.85) is inside the margin;
    # the children of " 2+5=7" differ by .05 only
    assert got == {(" 2*5=10", " 2+5=7"), (" 5-2=3", " 2+5=7")}
    assert all(p["prompt"] == "Make 10 from 2 5:" for p in pairs)
    assert all(p["chosen_value"] - p["rejected_value"] >= 0.1 for p in pairs)
    deeper = preference_pairs(records, margin=0.01)
    nested = next(p for p in deeper if p["chosen"] == " 7*1")
    assert nested["prompt"] == "Make 10 from 2 5: 2+5=7"  # task prompt + shared prefix
    assert len(preference_pairs(records, margin=0.01, max_pairs_per_group=1)) == 2  # one per parent


def test_pairs_reject_bad_options():
    with pytest.raises(ValueError, match="margin"):
        preference_pairs([], margin=-1)


def test_export_pairs_loads_with_datasets_in_trl_columns(tmp_path):
    from datasets import load_dataset

    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "pairs.jsonl"
    n = export_pairs(run, out, margin=0.1)
    assert n == 2
    dataset = load_dataset("json", data_files=str(out), cache_dir=str(tmp_path / "cache"))["train"]
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names)
    assert len(dataset) == 2
    assert all(isinstance(dataset[i]["chosen"], str) for i in range(2))
