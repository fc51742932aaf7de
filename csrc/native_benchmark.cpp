#include "native_benchmark.h"

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "rng.h"

namespace mcts {

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

BenchmarkResult run_native_benchmark(const TreeConfig& config, int64_t simulations, int32_t width,
                                     int32_t batch, uint64_t seed) {
  if (simulations < 0 || width < 1 || batch < 1)
    throw std::invalid_argument("benchmark: need simulations >= 0, width >= 1, batch >= 1");
  Tree tree(config);
  tree.reserve(1 + simulations * width, 0);  // a search with a known budget does the same
  SplitMix64 rng(seed);
  Selection selection;
  std::vector<int32_t> parents;
  std::vector<double> values;
  // The same for every row: built once for the largest batch (as benchmarks/node_throughput.py
  // does for the Python API loop).
  const size_t max_rows = static_cast<size_t>(batch) * static_cast<size_t>(width);
  const std::vector<double> priors(max_rows, 1.0 / width), rewards(max_rows, 0.0);
  const std::vector<int32_t> teachers(max_rows, 0);
  const std::vector<uint8_t> terminal(max_rows, 0);
  const std::vector<uint32_t> lengths(max_rows, 0);
  const std::string no_text;

  BenchmarkResult result;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  while (result.simulations < simulations) {
    const int64_t want = std::min<int64_t>(batch, simulations - result.simulations);
    tree.select(want, selection);
    if (selection.leaves.empty()) break;
    parents.clear();
    for (size_t i = 0; i < selection.leaves.size(); ++i)
      if (selection.kinds[i] != static_cast<uint8_t>(LeafKind::kTerminal))
        parents.insert(parents.end(), width, selection.leaves[i]);
    const size_t rows = parents.size();
    tree.expand(parents.data(), priors.data(), teachers.data(), rewards.data(), terminal.data(),
                no_text, lengths.data(), static_cast<int64_t>(rows));
    values.clear();
    for (size_t i = 0; i < selection.leaves.size(); ++i) values.push_back(rng.uniform());
    tree.backup(selection.leaves.data(), values.data(), static_cast<int64_t>(values.size()));
    result.simulations += static_cast<int64_t>(values.size());
  }
  result.cpu_seconds = thread_cpu_seconds() - cpu_start;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.nodes = tree.size();
  return result;
}

}  // namespace mcts
