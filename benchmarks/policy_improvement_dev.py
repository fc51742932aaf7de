"""policy_improvement.py measured on the *development* puzzles: the held-out puzzles that are not in
the benchmark's evaluation set (seed 100, 100 puzzles), 140 of them. Settings are tuned here so
that the benchmark's own puzzles stay untouched by the tuning. Takes the same flags, e.g.:

    python benchmarks/policy_improvement_dev.py --rounds 8 --search-tasks 128 --negative-weight 0 \
        --lr 1e-4 --epochs 6 --json dev.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import policy_improvement as pi  # noqa: E402

BENCHMARK_EVAL = pi.generate_puzzles(100, seed=100, split="heldout")


def dev_puzzles() -> list:
    taken = {(tuple(sorted(p.numbers)), p.target) for p in BENCHMARK_EVAL}
    return [p for p in pi.generate_puzzles(240, seed=7, split="heldout") if (tuple(sorted(p.numbers)), p.target) not in taken]


def main(argv=None) -> int:
    real = pi.generate_puzzles
    dev = dev_puzzles()

    def puzzles(n, seed, split="any", **knobs):
        return dev if split == "heldout" else real(n, seed=seed, split=split, **knobs)

    pi.generate_puzzles = puzzles  # the evaluation set only; search puzzles are unchanged
    return pi.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
