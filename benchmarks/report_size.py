"""HTML report size and build time for a large run: a synthetic 1,000-task run directory, then
``mcts.report.build_report`` on it; prints the page's MB and the seconds it took.

The run directory has every file ``mcts-llm search`` writes, made with the real writers where they are
public (``save_tree``, ``RunDir.record_weights``/``write_summary``/``write_config``) and rows in the
``trajectories.jsonl``/``tasks.jsonl`` schema. Trees are grown with the native tree's batch protocol
(select, expand, backup) to a size drawn uniformly from ``--min-nodes..--max-tree-nodes``, with
countdown-like step texts, terminal steps (some solved) and three teachers, so most trees are far above
the report's ``--max-nodes`` and the summary rule is what keeps the page small.

    python benchmarks/report_size.py                       # 1,000 tasks, trees of 50..800 nodes
    python benchmarks/report_size.py --tasks 100 --keep /tmp/big-run
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from mcts import Tree, WeightsConfig, save_tree
from mcts.report import DEFAULT_MAX_NODES, build_report
from mcts.files import append_lines
from mcts.run.rundir import RunDir

TEACHERS = ("countdown-expert", "countdown-noisy", "countdown-format")
OPS = "+-*/"

def step_text(rng: random.Random) -> str:
    a, b = rng.randint(1, 13), rng.randint(1, 13)
    return f"{a}{rng.choice(OPS)}{b}={rng.randint(0, 99)} (left: {rng.randint(1, 24)} {rng.randint(1, 24)})\n"

def grow_tree(rng: random.Random, nodes: int) -> Tree:
    """A tree of about ``nodes`` nodes grown by select / expand / backup, with terminal steps; about
    two tasks in five have solved ends."""
    solvable = rng.random() < 0.4
    tree = Tree(widen_c=2.0)
    tree.include_q_range(0.0, 1.0)
    while len(tree) < nodes:
        sel = tree.select(8)
        if len(sel) == 0:
            break
        parents = []
        for leaf, kind, room in zip(sel.leaves, sel.kinds, sel.room):
            if kind != 2:  # not terminal: one or two new children
                parents += [int(leaf)] * (2 if room != 1 else 1)
        if parents:
            depth = tree.nodes(parents).depth
            terminal = [d >= 3 or rng.random() < 0.15 for d in depth]
            rewards = [float(t and solvable and rng.random() < 0.3) for t in terminal]
            tree.expand(parents, [rng.random() for _ in parents], teachers=[rng.randrange(3) for _ in parents],
                        rewards=rewards, terminal=terminal, actions=[step_text(rng) for _ in parents])
        tree.backup(sel.leaves, [float(solvable) * rng.random() for _ in sel.leaves])
    return tree

def trajectory_rows(tree: Tree, task_id: str, prompt: str) -> list[dict]:
    """One trajectories.jsonl row per root-to-terminal path (the schema's keys)."""
    rows = []
    for path in tree.terminal_paths():
        ids = [int(i) for i in path[1:]]
        stats = tree.nodes(ids)
        texts = tree.actions(ids)
        solved = bool(stats.reward[-1] > 0)
        steps = [
            {"text": texts[k], "tokens": 11, "teachers": [TEACHERS[int(stats.teacher[k])]], "prior": float(stats.prior[k]),
             "visits": int(stats.visits[k]), "q": float(stats.q[k]), "reward": float(stats.reward[k]),
             "reward_components": {"verifier": float(stats.reward[k])}, "judge_shift": 0.0, "pruned": False}
            for k in range(len(ids))
        ]
        rows.append({"version": 2, "task_id": task_id, "prompt": prompt, "steps": steps, "final_reward": float(solved),
                     "solved": solved, "node_ids": ids, "parent_ids": [0, *ids[:-1]]})
    return rows

def make_run(out: Path, tasks: int, min_nodes: int, max_nodes: int, seed: int) -> int:
    """Writes the synthetic run directory; returns the total number of tree nodes."""
    rng = random.Random(seed)
    run = RunDir(out, min_free_mb=0)
    run.create(resume=False)
    run.write_config(f'task = "countdown"\nnum_tasks = {tasks}\n\n[search.weights]\nfloor = 0.05\n')
    weights = WeightsConfig().build(list(TEACHERS), seed=seed)
    total_nodes, solved = 0, 0
    for i in range(tasks):
        task_id = f"cd-{seed}-{i:05d}"
        prompt = f"Numbers: {rng.randint(1, 13)} {rng.randint(1, 13)} {rng.randint(1, 13)} {rng.randint(1, 13)}\nTarget: 24\n"
        tree = grow_tree(rng, rng.randint(min_nodes, max_nodes))
        total_nodes += len(tree)
        rows = trajectory_rows(tree, task_id, prompt)
        is_solved = any(r["solved"] for r in rows)
        solved += is_solved
        for r in rows[:20]:
            weights.credit_path([TEACHERS.index(s["teachers"][0]) for s in r["steps"]], float(r["solved"]))
        save_tree(run.tree_path(task_id), tree, weights)
        append_lines(run.trajectories, (json.dumps(r) for r in rows))
        append_lines(run.tasks, [json.dumps({
            "task_id": task_id, "solved": is_solved, "simulations": int(tree.nodes([0]).visits[0]), "tokens": 11 * len(tree),
            "calls": {t: rng.randint(1, 20) for t in TEACHERS}, "seconds": 0.3,
            "best": "".join(tree.actions([int(n) for n in tree.best_path()][1:]))})])
        run.record_weights(i, task_id, TEACHERS, weights.probabilities())
    run.write_summary({"tasks": tasks, "solved": solved, "solve_rate": solved / tasks, "tokens": 11 * total_nodes,
                       "teacher_probabilities": dict(zip(TEACHERS, map(float, weights.probabilities()))), "stopped": None})
    return total_nodes

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--min-nodes", type=int, default=50, help="smallest tree (nodes)")
    parser.add_argument("--max-tree-nodes", type=int, default=800, help="largest tree (nodes)")
    parser.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, help="the report's nodes drawn per tree")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the run here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    out = args.keep or Path(tempfile.mkdtemp(prefix="report-size-")) / "run"
    if out.exists():
        shutil.rmtree(out)
    try:
        started = time.perf_counter()
        nodes = make_run(out, args.tasks, args.min_nodes, args.max_tree_nodes, args.seed)
        made = time.perf_counter() - started
        print(f"run: {args.tasks} tasks, {nodes} tree nodes, {sum(f.stat().st_size for f in out.rglob('*')) / 1e6:.1f} MB "
              f"on disk, made in {made:.1f} s -> {out}")
        started = time.perf_counter()
        page = build_report(out, out / "report.html", max_nodes=args.max_nodes)
        seconds = time.perf_counter() - started
        print(f"report: {page.stat().st_size / 1e6:.2f} MB, built in {seconds:.1f} s (--max-nodes {args.max_nodes}) -> {page}")
    finally:
        if args.keep is None:
            shutil.rmtree(out.parent, ignore_errors=True)

if __name__ == "__main__":
    main()
