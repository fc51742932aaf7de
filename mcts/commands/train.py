"""``mcts-llm train``: update a policy with GRPO or PPO on the trajectories of a search run.

The whole job can live in one TOML file (flags override it)::

    algo = "grpo"
    run = "runs/latest"
    policy = "countdown-policy"       # a Hugging Face dir or a bundled model name
    out = "policies/round-1"
    reference = "countdown-policy"    # the frozen KL anchor (default: the policy)

    [settings]                        # mcts.train.TrainSettings
    learning_rate = 1e-4
    epochs = 2

    [grpo]                            # mcts.train.GRPOConfig (or [ppo]: mcts.train.PPOConfig)
    group_by = "siblings"
    beta = 0.04

Rerunning with the same ``--out`` resumes an interrupted update. The checkpoint is a Hugging Face
directory: use it as a teacher with ``hf:OUT`` or ``vllm:OUT``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ALGOS = ("grpo", "ppo", "dpo", "orpo")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="GRPO / PPO update of a policy on a search run's trajectories",
        description="Train a policy (a Hugging Face causal-LM dir or a bundled model name) on the trajectories "
        "of a run directory with GRPO (groups: siblings of a node or paths of one prompt) or PPO (value head + "
        "GAE), with a KL penalty to a frozen reference. Writes a checkpoint (safetensors) that loads as a "
        "teacher hf:OUT, plus metrics.csv and metrics.png; rerun with the same --out to resume.",
    )
    p.add_argument("--algo", choices=ALGOS, help="grpo (default), ppo, or dpo / orpo (TRL, on --pairs)")
    p.add_argument("--pairs", metavar="PAIRS.jsonl", help="dpo / orpo: `mcts-llm export-pairs --to-terminal` output")
    p.add_argument("--sft-weight", type=float, help="dpo: weight of an NLL term on the chosen side (RPO; default 0)")
    p.add_argument("--run", dest="run_dir", metavar="RUN_DIR", help="run directory of `mcts-llm search` (or its trajectories.jsonl)")
    p.add_argument("--policy", metavar="PATH_OR_NAME", help="policy to update: HF model dir or bundled name")
    p.add_argument("--out", metavar="DIR", help="checkpoint directory (rerun with the same DIR to resume)")
    p.add_argument("--reference", metavar="PATH_OR_NAME", help="frozen KL reference (default: the policy)")
    p.add_argument("--config", metavar="TRAIN.toml", help="a TOML file holding the whole job; flags override it")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-5)")
    p.add_argument("--epochs", type=int, help="passes over the samples (default 1)")
    p.add_argument("--batch-size", type=int, help="samples per optimiser step (default 8)")
    p.add_argument("--max-length", type=int, help="tokens per sample; longer contexts lose their left end")
    p.add_argument("--save-every", type=int, help="also checkpoint every N steps (default: only at the end)")
    p.add_argument("--seed", type=int, help="minibatch order and value-head init")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--beta", type=float, help="KL coefficient (default 0.04)")
    p.add_argument("--clip", type=float, help="ratio clip epsilon, both sides (default 0.2)")
    p.add_argument("--group-by", choices=["siblings", "prompt"], help="GRPO groups (default siblings)")
    p.add_argument("--reward", choices=["q", "mc_return"], help="GRPO sibling reward: backed-up Q or Monte-Carlo mean")
    p.add_argument("--min-visits", type=int, help="GRPO: leave out children visited fewer times")
    p.add_argument("--negative-weight", type=float,
                   help="GRPO: scale of negative advantages (1 default; 0 trains on the winning samples only)")
    p.add_argument(
        "--policy-teacher", dest="policy_teachers", action="append", metavar="NAME",
        help="train only on steps this teacher proposed (repeatable; default: every step)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_command)


def overrides_from(args: argparse.Namespace) -> dict:
    """Flags as dotted config keys; the clip / KL / teacher flags go to both algorithms' tables."""
    shared = {"epsilon_low": args.clip, "epsilon_high": args.clip, "beta": args.beta,
              "policy_teachers": args.policy_teachers}
    return {
        "algo": args.algo, "run": args.run_dir, "pairs": args.pairs,
        "preference.beta": args.beta if args.algo in ("dpo", "orpo") else None,
        "preference.sft_weight": args.sft_weight, "policy": args.policy, "out": args.out, "reference": args.reference,
        "settings.learning_rate": args.lr, "settings.epochs": args.epochs, "settings.batch_size": args.batch_size,
        "settings.max_length": args.max_length, "settings.save_every": args.save_every, "settings.seed": args.seed,
        "settings.device": args.device,
        "grpo.group_by": args.group_by, "grpo.reward": args.reward, "grpo.min_visits": args.min_visits,
        "grpo.negative_weight": args.negative_weight,
        **{f"{algo}.{k}": v for algo in ("grpo", "ppo") for k, v in shared.items()},
    }


def load_job(args: argparse.Namespace):
    from mcts.run.config import load_toml_config
    from mcts.train.job import TrainJob

    job = load_toml_config(TrainJob, args.config, overrides_from(args))
    if job.algo == "ppo" and any(v is not None for v in (args.group_by, args.reward, args.min_visits, args.negative_weight)):
        raise ValueError("--group-by, --reward, --min-visits and --negative-weight are GRPO options; drop them for --algo ppo")
    return job


def resolve_policy(model: str, what: str) -> Path:
    """A local HF model dir, or a bundled model name -> its dir; anything else is a clear error."""
    from teachers.loading import local_model_dir

    return local_model_dir(model, role=what)


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    try:
        job = load_job(args)
        policy = resolve_policy(job.policy, "--policy")
        reference = resolve_policy(job.reference, "--reference") if job.reference else None
        return _train(job, policy, reference, console, progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}")
        return 2


def _train(job, policy: Path, reference: Path | None, console, *, progress: bool) -> int:
    from rich.table import Table

    from mcts.train import load_records, train_grpo, train_ppo

    if job.algo in ("dpo", "orpo"):
        from mcts.train.preference import train_preference

        console.print(f"{job.algo.upper()}: pairs {job.pairs}, policy {policy} -> {job.out}")
        res = train_preference(job.algo, job.pairs, policy, job.out, job.preference, job.settings)
        console.print(f"{res.steps} steps on {res.train_pairs} pairs; held-out margin ({res.heldout_pairs} pairs, nats): "
                      f"{res.margin_before:.3f} -> {res.margin_after:.3f}; use it as a teacher: hf:{res.out_dir}")
        return 0
    records = load_records(job.run)
    if not records:
        raise ValueError(f"{job.run} holds no trajectories yet; let `mcts-llm search` finish at least one task")
    console.print(f"{job.algo.upper()}: {len(records)} paths from {job.run}, policy {policy} -> {job.out}")
    if job.algo == "grpo":
        result = train_grpo(records, policy, job.out, job.grpo, job.settings, reference=reference, progress=progress)
    else:
        result = train_ppo(records, policy, job.out, job.ppo, job.settings, reference=reference, progress=progress)
    table = Table(title=f"{job.algo} update: {result.samples} samples, {result.steps} steps")
    table.add_column("metric")
    table.add_column("last step", justify="right")
    for name, value in result.final_metrics.items():
        if name not in ("step", "epoch"):
            table.add_row(name, f"{value:.4g}")
    console.print(table)
    console.print(f"checkpoint {result.out_dir} (metrics.csv, metrics.png); use it as a teacher: hf:{result.out_dir}")
    return 0
