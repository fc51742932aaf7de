"""Node throughput of the search tree: native loop vs the Python API vs the pure-Python oracle.

Every variant runs the same simulation: select a leaf, give it `width` children (prior 1/width,
reward 0, empty text), back up a uniform [0, 1) value (the trivial evaluator). Trees grow to
>= 100k nodes. Rates are simulations per CPU-second of the running thread (one core), so other
load on a shared machine does not count against them; wall-clock rates are shown alongside.

Picking: leaves per CPU-second through the search's pick stage (``mcts.search.pick.pick_teachers``,
one teacher per leaf, 4 teachers whose scores random credits have trained, so the softmax and the
projections do real work), one call per batch of leaves (1, the default 4, 64): from the global
weights (what the search does with ``weights.context = "none"``) and in each leaf's depth context
(depths 0..7); "vs global" is the cost of contexts. The "+ credit" rows credit a 3-step path after
every call, as a search iteration does. Run the script with an older build's interpreter (its
`pick_teachers` and weights) for "before" rows: it then measures the global weights only.

    python benchmarks/node_throughput.py [--sims 25000] [--repeats 3] [--picks 200000] [--json out.json]
    python benchmarks/node_throughput.py --only-picking --repeats 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import mcts
from mcts import _core
from mcts.search.pick import pick_teachers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference_tree import ReferenceTree  # noqa: E402  (the oracle lives with the tests)

WIDTH = 8


def run_native(sims: int, batch: int, seed: int) -> dict:
    done, nodes, wall, cpu = _core.native_benchmark(0, 1.25, sims, WIDTH, batch, seed)
    return {"sims": done, "nodes": nodes, "wall_s": wall, "cpu_s": cpu}


def run_api(sims: int, batch: int, seed: int) -> dict:
    """The search loop a Python caller writes: one select / expand / backup call per batch."""
    rng = np.random.default_rng(seed)
    tree = mcts.Tree(widen_c=None)
    priors = np.full(batch * WIDTH, 1.0 / WIDTH)
    teachers = np.zeros(batch * WIDTH, dtype=np.int32)
    rewards = np.zeros(batch * WIDTH)
    terminal = np.zeros(batch * WIDTH, dtype=bool)
    done = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    while done < sims:
        sel = tree.select(min(batch, sims - done))
        if not len(sel):
            break
        parents = np.repeat(sel.leaves[sel.needs_expansion], WIDTH)
        n = parents.size
        tree.expand(parents, priors[:n], teachers[:n], rewards[:n], terminal[:n])
        tree.backup(sel.leaves, rng.random(len(sel)))
        done += len(sel)
    return {"sims": done, "nodes": len(tree), "wall_s": time.perf_counter() - wall0,
            "cpu_s": time.thread_time() - cpu0}


def run_reference(sims: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    tree = ReferenceTree(widen_c=None)
    done = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    while done < sims:
        leaves, kinds, _, _ = tree.select(1)
        parents = [leaf for leaf, kind in zip(leaves, kinds) if kind == 0 for _ in range(WIDTH)]
        n = len(parents)
        tree.expand(parents, [1.0 / WIDTH] * n, [0] * n, [0.0] * n, [False] * n, [""] * n)
        tree.backup(leaves, [float(rng.random())])
        done += len(leaves)
    return {"sims": done, "nodes": len(tree), "wall_s": time.perf_counter() - wall0,
            "cpu_s": time.thread_time() - cpu0}


PICK_TEACHERS = 4
PICK_DEPTHS = 8


def trained_weights(seed: int, warmup: bool = True) -> mcts.TeacherWeights:
    """Weights whose scores (global and per depth, where the build has contexts) are far from uniform."""
    rng = np.random.default_rng(seed)
    has_warmup = "warmup" in {f.name for f in dataclasses.fields(mcts.WeightsConfig)}
    weights = mcts.TeacherWeights(PICK_TEACHERS, seed=seed, **({"warmup": warmup} if has_warmup else {}))
    with_contexts = hasattr(weights, "sample_per_context")
    for _ in range(200):
        teachers = rng.integers(0, PICK_TEACHERS, size=3)
        outcome = float(rng.random() < 0.3 + 0.1 * teachers[-1])
        if with_contexts:
            weights.credit_path(teachers, outcome, contexts=np.arange(3) + int(rng.integers(0, PICK_DEPTHS - 2)))
        else:
            weights.credit_path(teachers, outcome)
    return weights


def run_picks(picks: int, batch: int, seed: int, contexts: bool, credit: bool = False, warmup: bool = True) -> dict:
    """``picks`` leaves, ``batch`` per ``pick_teachers`` call, one teacher each; with ``credit``, a
    3-step path is credited after every call, as a search iteration does (it invalidates the cached
    probabilities, so the next call recomputes them). ``warmup``: the weights' bias correction."""
    weights = trained_weights(seed, warmup)
    leaf_contexts = [i % PICK_DEPTHS for i in range(batch)] if contexts else None
    path, depths = np.asarray([0, 1, 2], dtype=np.int32), [0, 1, 2]
    done = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    while done < picks:
        if contexts:
            pick_teachers(weights, batch, 1, frozenset(), leaf_contexts)
        else:
            pick_teachers(weights, batch, 1, frozenset())
        if credit:
            outcome = float(done % 3 == 0)
            weights.credit_path(path, outcome, depths) if contexts else weights.credit_path(path, outcome)
        done += batch
    return {"sims": done, "nodes": 0, "wall_s": time.perf_counter() - wall0, "cpu_s": time.thread_time() - cpu0}


def picking(args: argparse.Namespace) -> dict:
    """Leaves picked per CPU-second, globally and in depth contexts (where the build has them)."""
    has_contexts = hasattr(mcts.TeacherWeights(1), "sample_per_context")
    results = {}
    for batch, credit, warmup in ((1, False, True), (4, False, True), (64, False, True), (4, True, True), (4, True, False)):
        for contexts in (False, True) if has_contexts else (False,):
            name = f"pick, {'depth contexts' if contexts else 'global'}, batch {batch}{' + credit' if credit else ''}"
            name += "" if warmup else ", no warm-up"
            runs = [run_picks(args.picks, batch, args.seed + i, contexts, credit, warmup) for i in range(args.repeats)]
            results[name] = best_of(runs)
    print(f"\n{'pick stage (4 teachers)':38} {'leaves':>8} {'cpu s':>7} {'leaves/cpu-s':>12} {'vs global':>9}")
    rates = {name: r["sims"] / r["cpu_s"] for name, r in results.items()}
    for name, r in results.items():
        base = rates[name.replace("depth contexts", "global")]
        print(f"{name:38} {r['sims']:8d} {r['cpu_s']:7.3f} {rates[name]:12,.0f} {rates[name] / base:9.3f}")
    return {name.replace(", ", "_").replace(" + ", "_").replace(" ", "_"): rate for name, rate in rates.items()}


def best_of(runs: list[dict]) -> dict:
    """The median run by CPU rate (robust to a noisy neighbour on a shared machine)."""
    rates = [r["sims"] / r["cpu_s"] for r in runs]
    median = statistics.median_low(rates)
    return runs[rates.index(median)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=25_000, help="simulations per tree (x8 nodes)")
    parser.add_argument("--reference-sims", type=int, help="oracle simulations (default: --sims, the same workload)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--picks", type=int, default=200_000, help="leaves per picking run")
    parser.add_argument("--only-picking", action="store_true", help="skip the tree variants")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    if args.only_picking:
        numbers = {"picks_per_s": picking(args), "clock": "thread CPU time"}
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(numbers, indent=2) + "\n")
        return 0

    variants = {
        "native (C++ loop, batch 1)": lambda s: run_native(args.sims, 1, s),
        "native (C++ loop, batch 256)": lambda s: run_native(args.sims, 256, s),
        "Python API, batch 1": lambda s: run_api(args.sims, 1, s),
        "Python API, batch 256": lambda s: run_api(args.sims, 256, s),
        "pure-Python oracle, batch 1": lambda s: run_reference(args.reference_sims or args.sims, s),
    }
    results = {}
    for name, fn in variants.items():
        repeats = 1 if "oracle" in name else args.repeats
        results[name] = best_of([fn(args.seed + i) for i in range(repeats)])

    native = results["native (C++ loop, batch 1)"]
    native_rate = native["sims"] / native["cpu_s"]
    print(f"{'variant':32} {'sims':>8} {'nodes':>9} {'cpu s':>7} {'sims/cpu-s':>12} {'sims/wall-s':>12} {'vs native':>9}")
    for name, r in results.items():
        rate = r["sims"] / r["cpu_s"]
        print(f"{name:32} {r['sims']:8d} {r['nodes']:9d} {r['cpu_s']:7.3f} {rate:12,.0f} "
              f"{r['sims'] / r['wall_s']:12,.0f} {rate / native_rate:9.3f}")

    rate = {name: r["sims"] / r["cpu_s"] for name, r in results.items()}
    numbers = {
        "native_sims_per_s": rate["native (C++ loop, batch 1)"],
        "native_batch256_sims_per_s": rate["native (C++ loop, batch 256)"],
        "api_batch1_sims_per_s": rate["Python API, batch 1"],
        "api_batch256_sims_per_s": rate["Python API, batch 256"],
        "reference_sims_per_s": rate["pure-Python oracle, batch 1"],
        "bytes_per_node": mcts.Tree.bytes_per_node(),
        "nodes": {name: r["nodes"] for name, r in results.items()},
        "clock": "thread CPU time",
    }
    floors = [
        ("native / reference >= 100", numbers["native_sims_per_s"] / numbers["reference_sims_per_s"], 100),
        ("api batch-256 / native >= 0.5", numbers["api_batch256_sims_per_s"] / numbers["native_sims_per_s"], 0.5),
        ("native >= 1,000,000 sims/s", numbers["native_sims_per_s"], 1e6),
    ]
    print(f"\nbytes per node: {numbers['bytes_per_node']} (floor <= 48: "
          f"{'met' if numbers['bytes_per_node'] <= 48 else 'MISSED'})")
    for label, value, floor in floors:
        print(f"{label:32} {value:14,.2f}  {'met' if value >= floor else 'MISSED'}")
    numbers["floors_met"] = {label: value >= floor for label, value, floor in floors}
    numbers["picks_per_s"] = picking(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
