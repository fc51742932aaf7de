"""Policy improvement: search -> GRPO update -> measure, for a few rounds, with the bundled weak policy.

Each round:

1. **search** seeded Game-of-24 puzzles from the *training* side of the task's split (fresh puzzles
   every round) with the teachers (``--teachers ensemble``: the bundled expert and noisy models plus the
   current policy; ``policy``: the current policy alone), writing a normal run directory;
2. **update** the current policy with GRPO on that run's trees (``mcts.train.train_grpo``; groups:
   siblings of a node, advantages from their backed-up Q), with a k3 KL penalty to the *original*
   policy (the reference never changes, so the KL column is the drift from where we started);
3. **measure** the new policy on held-out puzzles (``generate_puzzles(..., split="heldout")``: never
   searched, never trained on): greedy and best-of-8 (temperature 1) solve rates, by
   ``mcts.tasks.countdown_eval``.

Round 0 is the policy before any update. ``kl`` is the mean per-token k3 estimate of
KL(policy || reference) on the policy-written tokens of the round's training samples, over its
last epoch (0 for round 0).

    python benchmarks/policy_improvement.py --json policy_improvement.json     # 12 rounds, ~10 min on 2 cores

Defaults (chosen on the development puzzles, ``policy_improvement_dev.py``): 128 puzzles per round,
32 searched at once (their teacher calls batched, ``--concurrent-tasks``), GRPO on the winning
siblings only (``--negative-weight 0``), learning rate 2e-4, 6 epochs. ``--negative-weight 1
--lr 5e-5 --epochs 3 --rounds 6 --search-tasks 64 --concurrent-tasks 1`` is the first, plain-GRPO setting.
``--ema D`` measures a moving average of the rounds' weights (decay ``D``) instead of the latest ones;
the search and the updates still use the latest weights.

Why the ensemble by default: the weak policy alone rarely finds a solution, so most of its sibling
groups are all-zero (no advantage, no gradient); with the expert in the ensemble the trees hold
winning steps next to losing ones, and GRPO moves the policy toward the steps the search valued.
``--teachers policy`` runs pure self-improvement for comparison.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

import torch
from rich.console import Console
from safetensors.torch import load_file, save_file
from rich.table import Table

from mcts.run.config import RunConfig
from mcts.run.runner import run_search
from mcts.run.setup import build_teachers
from mcts.search import Budget, SearchConfig
from mcts.tasks.countdown_eval import evaluate_solve_rates, load_model
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from mcts.train import GRPOConfig, TrainSettings, train_grpo
from mcts.train.tree_data import load_records
from teachers.spec import resolve_model_path

HELPERS = ("hf:countdown-expert,name=expert", "hf:countdown-noisy,name=noisy")


def model_dir(name: str) -> Path:
    path = Path(resolve_model_path(name))
    if not path.is_dir():
        raise SystemExit(f"model {name!r} is neither a directory nor a bundled model (run scripts/train_bundled_models.py)")
    return path


def measure(policy: Path, puzzles, k: int, seed: int, device: str = "cpu") -> dict:
    rates = evaluate_solve_rates(load_model(policy, device), puzzles, k=k, temperature=1.0, seed=seed)
    return {"greedy": rates.greedy, "best_of_8": rates.best_of_k, "valid_steps": rates.greedy_valid_steps}


def search_round(args, round_index: int, policy: Path, out: Path, console: Console) -> dict:
    helpers = tuple(args.helpers or HELPERS) if args.teachers == "ensemble" else ()
    teachers = (*helpers, f"hf:{policy},name=policy")
    config = RunConfig(
        out=str(out), teachers=teachers, seed=round_index, min_free_mb=0, device=args.device,
        concurrent_tasks=args.concurrent_tasks,
        search=SearchConfig(budget=Budget(simulations=args.simulations), stop_on_solve=False, seed=round_index),
    )
    puzzles = generate_puzzles(args.search_tasks, seed=args.seed + round_index, split="train")
    models = build_teachers(config)
    threads = torch.get_num_threads()
    # The teachers generate at the same time, each in a worker thread: one intra-op thread apiece
    # (two each on two cores oversubscribed them: 15.3 s against 12.9 s for 64 puzzles).
    torch.set_num_threads(1)
    try:
        totals = run_search(config, [CountdownTask(p) for p in puzzles], models, console=console)
    finally:
        torch.set_num_threads(threads)
        for model in models:
            model.close()
    return {"search_solved": totals.solved / max(1, totals.tasks), "search_tokens": totals.tokens}


def average_into(previous: Path, latest: Path, decay: float, out: Path) -> Path:
    """``decay * previous + (1 - decay) * latest`` weights, saved as a model directory at ``out``."""
    before, after = load_file(str(previous / "model.safetensors")), load_file(str(latest / "model.safetensors"))
    shutil.copytree(latest, out, ignore=shutil.ignore_patterns("*.safetensors", "*.pt", "*.csv", "*.png"))
    save_file({k: decay * before[k] + (1 - decay) * after[k] for k in after}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    return out


def last_epoch_kl(metrics_csv: Path) -> float:
    with metrics_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    last = max(int(r["epoch"]) for r in rows)
    kls = [float(r["kl"]) for r in rows if int(r["epoch"]) == last]
    return sum(kls) / len(kls)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default="countdown-policy", help="the policy to improve (dir or bundled name)")
    parser.add_argument("--teachers", choices=("ensemble", "policy"), default="ensemble")
    parser.add_argument("--helper", dest="helpers", action="append", metavar="SPEC",
                        help=f"ensemble teachers besides the policy (repeatable; default: {', '.join(HELPERS)})")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--search-tasks", type=int, default=128, help="training puzzles searched per round")
    parser.add_argument("--simulations", type=int, default=32, help="search simulations per puzzle")
    parser.add_argument("--concurrent-tasks", type=int, default=32, help="puzzles searched at once (teacher calls batched)")
    parser.add_argument("--eval-tasks", type=int, default=100, help="held-out puzzles measured per round")
    parser.add_argument("--k", type=int, default=8, help="samples for best-of-k")
    # With plain GRPO (negative weight 1), 1e-4 and above drove the KL up and the valid steps down;
    # on winners only, 2e-4 beat 1e-4 on the dev puzzles (RESULTS.md, development runs).
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--beta", type=float, default=0.04, help="KL coefficient")
    parser.add_argument("--epsilon-high", type=float, default=0.2, help="upper clip of the ratio (DAPO's clip-higher when > 0.2)")
    parser.add_argument("--group-by", choices=("siblings", "prompt"), default="siblings")
    parser.add_argument("--min-visits", type=int, default=1, help="siblings: leave out children visited fewer times")
    parser.add_argument("--negative-weight", type=float, default=0.0,
                        help="scale of negative advantages (1: plain GRPO; 0: reinforce winners only)")
    parser.add_argument("--ema", type=float, default=0.0,
                        help="measure an exponential moving average of the rounds' weights with this decay (0: off)")
    parser.add_argument("--replay", type=int, default=1, help="train each round on the trees of the last N rounds' searches")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--device", default="cpu", help="cpu (the floor's budget) or cuda (the GPU round)")
    parser.add_argument("--out", type=Path, default=Path("runs/policy-improvement"))
    parser.add_argument("--json", type=Path, help="write {'rounds': [{'greedy', 'best_of_8', 'kl', ...}]} here")
    args = parser.parse_args(argv)
    if not 0.0 <= args.ema < 1.0:
        parser.error(f"--ema is a decay in [0, 1) (0: off), got {args.ema}")
    console = Console()
    if args.out.exists():
        shutil.rmtree(args.out)  # every run starts from the original policy
    reference = model_dir(args.policy)
    heldout = generate_puzzles(args.eval_tasks, seed=args.seed, split="heldout")
    start_wall, start_cpu = time.monotonic(), time.process_time()

    rounds = [{"round": 0, **measure(reference, heldout, args.k, args.seed, args.device), "kl": 0.0}]
    console.print(f"round 0: greedy {rounds[0]['greedy']:.2f}, best-of-{args.k} {rounds[0]['best_of_8']:.2f}")
    policy = reference
    for r in range(1, args.rounds + 1):
        t0 = time.monotonic()
        searched = search_round(args, r, policy, args.out / f"round-{r}" / "search", console)
        t1 = time.monotonic()
        try:
            runs = range(max(1, r - args.replay + 1), r + 1)
            records = [rec for k in runs for rec in load_records(args.out / f"round-{k}" / "search")]
            result = train_grpo(
                records, policy, args.out / f"round-{r}" / "policy",
                GRPOConfig(group_by=args.group_by, beta=args.beta, min_visits=args.min_visits,
                           negative_weight=args.negative_weight, epsilon_high=args.epsilon_high),
                TrainSettings(learning_rate=args.lr, epochs=args.epochs, batch_size=args.batch_size, max_length=256,
                              seed=r, device=args.device),
                reference=reference, progress=False,
            )
        except ValueError as err:  # no group with a reward spread: nothing to learn from this round
            console.print(f"[yellow]round {r}: no update ({err})[/yellow]")
            result = None
        t2 = time.monotonic()
        policy = result.out_dir if result else policy
        if args.ema > 0:  # measure the running average of the rounds' weights instead of the latest
            measured = average_into(measured if r > 1 else policy, policy, args.ema if r > 1 else 0.0,
                                    args.out / f"round-{r}" / "ema")
        else:
            measured = policy
        kl = last_epoch_kl(policy / "metrics.csv") if result else (rounds[-1]["kl"])
        row = {"round": r, **measure(measured, heldout, args.k, args.seed, args.device), "kl": kl,
               **searched, "samples": result.samples if result else 0, "steps": result.steps if result else 0,
               "train_step_ms": round(1000 * result.seconds_per_step, 2) if result else None,
               "search_s": round(t1 - t0, 1), "train_s": round(t2 - t1, 1), "eval_s": round(time.monotonic() - t2, 1)}
        rounds.append(row)
        console.print(f"round {r}: greedy {row['greedy']:.2f}, best-of-{args.k} {row['best_of_8']:.2f}, kl {row['kl']:.4f}")

    wall, cpu = time.monotonic() - start_wall, time.process_time() - start_cpu
    table = Table(title=f"policy improvement ({args.teachers} search, GRPO/{args.group_by}; {len(heldout)} held-out puzzles)")
    for col in ("round", "greedy", f"best-of-{args.k}", "KL to ref", "valid steps", "search solved", "samples"):
        table.add_column(col, justify="right")
    for row in rounds:
        table.add_row(str(row["round"]), f"{row['greedy']:.2f}", f"{row['best_of_8']:.2f}", f"{row['kl']:.4f}",
                      f"{row['valid_steps']:.2f}", f"{row.get('search_solved', float('nan')):.2f}", str(row.get("samples", "-")))
    console.print(table)
    gain = rounds[-1]["greedy"] - rounds[0]["greedy"]
    console.print(f"greedy gain over round 0: {100 * gain:+.1f} points; wall {wall / 60:.1f} min, CPU {cpu / 60:.1f} min (this process)")
    if args.json:
        report = {"rounds": rounds, "gain_points": 100 * gain, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                  "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
