"""Train a policy with TRL's DPO (or ORPO) on chosen/rejected pairs exported from a search run.

    python -c "from mcts.train import export_pairs; export_pairs('RUN_DIR', 'pairs.jsonl', margin=0.2)"
    python examples/dpo_on_pairs.py --pairs pairs.jsonl --policy POLICY_DIR --out dpo-policy

Needs: the ``hf`` and ``test`` extras (TRL, datasets). POLICY_DIR is any Hugging Face causal-LM
directory or a bundled model name, e.g. ``countdown-policy``. The result is a
Hugging Face directory: use it as a teacher with ``hf:dpo-policy``. Runs on CPU in about a minute
for a small model and a few hundred pairs.
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", required=True, help="JSONL with prompt/chosen/rejected (export_pairs)")
    parser.add_argument("--policy", required=True, help="Hugging Face causal-LM directory to start from")
    parser.add_argument("--out", required=True, help="where the trained policy goes")
    parser.add_argument("--algo", choices=("dpo", "orpo"), default="dpo")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--beta", type=float, default=0.1)
    args = parser.parse_args()

    from datasets import load_dataset

    from teachers.loading import load_causal_lm

    dataset = load_dataset("json", data_files=args.pairs)["train"]
    model, tokenizer = load_causal_lm(args.policy, dtype="float32", role="policy")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    common = dict(output_dir=args.out, num_train_epochs=args.epochs, learning_rate=args.lr, beta=args.beta,
                  per_device_train_batch_size=4, logging_steps=1, save_strategy="no", report_to="none",
                  use_cpu=True)
    if args.algo == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(model=model, args=DPOConfig(**common), train_dataset=dataset, processing_class=tokenizer)
    else:  # ORPO lives in trl.experimental since TRL 1.0
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        trainer = ORPOTrainer(model=model, args=ORPOConfig(**common), train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    trainer.save_model(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"saved {args.algo.upper()} policy to {args.out}; use it as a teacher with hf:{args.out}")


if __name__ == "__main__":
    main()
