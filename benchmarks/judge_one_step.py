"""Can a small LM learn the judge's one-step question? A diagnosis, not a benchmark of the product.

Trains a GPT-2 on one-step Game-of-24 states alone (every legal first step of every training-side
number set of the judge's fit side; the label: can the three numbers left still make 24, by the
solver), balanced batches, and prints accuracy every 250 steps on its own training states and on the
one-step states of held-out puzzles that no training puzzle leaves. ``--start expert`` starts from the
bundled ``countdown-expert``'s weights (the shipped judge does), ``fresh`` from new ones; ``--short``
cuts the text to the target and the numbers left.

    python benchmarks/judge_one_step.py --start expert --lr 2e-3 --steps 3000
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time

from mcts.tasks.countdown import Puzzle, format_prompt, format_step
from mcts.tasks.countdown_solver import after_move, is_solvable, legal_moves, puzzle_split
from teachers.bundled import MODELS_DIR
from teachers.training.judge_data import judge_dev_split
from teachers.training.tokenizer import build_tokenizer

Key = tuple[int, ...]  # the numbers left, sorted


def one_step_states() -> tuple[dict[Key, list], list[Key], list[Key]]:
    """Sources of each one-step state, the states of training puzzles, and held-out-only ones."""
    sources: dict[Key, list] = {}
    for numbers in itertools.combinations_with_replacement(range(1, 14), 4):
        if not is_solvable(numbers, 24):
            continue
        side = "heldout" if puzzle_split(numbers, 24) == "heldout" else judge_dev_split(numbers, 24)
        for move in legal_moves(numbers):
            sources.setdefault(tuple(sorted(after_move(numbers, move))), []).append((numbers, move, side))
    train = [k for k, v in sources.items() if any(s == "fit" for _, _, s in v)]
    seen = set(train)
    unseen = [k for k, v in sources.items() if k not in seen and any(s == "heldout" for _, _, s in v)]
    return sources, train, unseen


def main(argv=None) -> int:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", choices=["fresh", "expert"], default="expert")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3, help="fresh start only")
    parser.add_argument("--width", type=int, default=192, help="fresh start only")
    parser.add_argument("--short", action="store_true", help="the text is only the target and the numbers left")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tokenizer = build_tokenizer()
    sources, train, unseen = one_step_states()
    print(f"{len(train)} training states ({sum(is_solvable(k, 24) for k in train) / len(train):.0%} reachable), "
          f"{len(unseen)} held-out states no training puzzle leaves", flush=True)
    accept, reject = tokenizer.encode("Y")[0], tokenizer.encode("N")[0]

    def text(key: Key, sides: set[str]) -> str:
        if args.short:
            return f"Target: 24\n(left: {' '.join(map(str, key))})?"
        numbers, move, _ = rng.choice([s for s in sources[key] if s[2] in sides] or sources[key])
        numbers = list(numbers)
        rng.shuffle(numbers)
        return format_prompt(Puzzle("x", tuple(numbers), 24)) + format_step(*move, tuple(numbers)) + "?"

    def batch(keys: list[Key], n: int, sides: set[str]):
        good = [k for k in keys if is_solvable(k, 24)]
        bad = [k for k in keys if not is_solvable(k, 24)]
        chosen = [rng.choice(good if i % 2 else bad) for i in range(n)]
        rows = [[tokenizer.eos_token_id, *tokenizer.encode(text(k, sides))] for k in chosen]
        width = max(map(len, rows))
        ids = torch.full((n, width), tokenizer.pad_token_id)
        mask = torch.zeros((n, width), dtype=torch.long)
        for i, row in enumerate(rows):  # left-padded: the verdict is read at the last position
            ids[i, width - len(row):] = torch.tensor(row)
            mask[i, width - len(row):] = 1
        labels = torch.tensor([accept if is_solvable(k, 24) else reject for k in chosen])
        return ids, mask, labels

    if args.start == "expert":
        model = GPT2LMHeadModel.from_pretrained(str(MODELS_DIR / "countdown-expert"))
    else:
        model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=args.width,
                                           n_layer=args.layers, n_head=args.width // 64))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)

    def last_logits(ids, mask):
        return model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0)).logits[:, -1]

    def accuracy(keys: list[Key], sides: set[str]) -> float:
        model.eval()
        ids, mask, labels = batch(keys, 400, sides)
        with torch.no_grad():
            logits = last_logits(ids, mask)
        model.train()
        predicted = torch.where(logits[:, accept] > logits[:, reject], accept, reject)
        return (predicted == labels).float().mean().item()

    started = time.time()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / 50)
        ids, mask, labels = batch(train, args.batch_size, {"fit"})
        loss = torch.nn.functional.cross_entropy(last_logits(ids, mask), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 250 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {loss.item():.3f}, accuracy on training states {accuracy(train, {'fit'}):.3f}, "
                  f"on unseen held-out states {accuracy(unseen, {'heldout'}):.3f} ({time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
