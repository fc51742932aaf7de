// The select/expand/backup loop run entirely in C++ with a trivial evaluator, for
// benchmarks/node_throughput.py (native_sims_per_s).
#pragma once

#include <cstdint>

#include "tree.h"

namespace mcts {

struct BenchmarkResult {
  int64_t simulations = 0;  // leaves backed up
  int64_t nodes = 0;        // tree size at the end
  double seconds = 0.0;     // wall time of the loop (steady clock)
  double cpu_seconds = 0.0; // CPU time of the calling thread during the loop (one core's work)
};

// Runs until `simulations` leaves are backed up (or the tree runs out of leaves). Each batch
// selects up to `batch` leaves, gives every non-terminal leaf `width` children (prior 1/width,
// reward 0, empty text) and backs up a uniform [0, 1) value from SplitMix64(seed).
BenchmarkResult run_native_benchmark(const TreeConfig& config, int64_t simulations, int32_t width,
                                     int32_t batch, uint64_t seed);

}  // namespace mcts
