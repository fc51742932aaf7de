// Bindings of the tree file format (bytes in, bytes out; mcts/tree_io.py does the file I/O),
// and of the native benchmark loop.
#include <string>

#include "bindings.h"
#include "native_benchmark.h"
#include "tree_io.h"

namespace mcts_py {

namespace {

// The named results of deserialize_tree and native_benchmark (types defined in bind_io).
NamedResult loaded_tree, benchmark_result;

}  // namespace

void bind_io(py::module_& m) {
  loaded_tree.define(m, "LoadedTree", "deserialize_tree(data): the tree and its teacher weights (None if not saved)",
                     {"tree", "weights"});
  benchmark_result.define(m, "BenchmarkResult",
                          "native_benchmark(...): simulations run, nodes grown, wall and thread-CPU seconds",
                          {"simulations", "nodes", "wall_seconds", "cpu_seconds"});
  m.def(
      "serialize_tree",
      [](PyTree& tree, PyWeights* weights) {
        std::string bytes;
        {
          py::gil_scoped_release nogil;
          std::lock_guard<std::mutex> lock_tree(tree.mutex);
          if (weights) {
            std::lock_guard<std::mutex> lock_weights(weights->mutex);
            bytes = mcts::serialize_tree(tree.tree, &weights->weights);
          } else {
            bytes = mcts::serialize_tree(tree.tree, nullptr);
          }
        }
        return py::bytes(bytes);
      },
      py::arg("tree"), py::arg("weights").none(true));
  m.def("deserialize_tree", [](py::bytes data) {
    char* buffer = nullptr;
    py::ssize_t size = 0;
    if (PyBytes_AsStringAndSize(data.ptr(), &buffer, &size) != 0) throw py::error_already_set();
    mcts::LoadedTree loaded;
    {
      py::gil_scoped_release nogil;
      loaded = mcts::deserialize_tree(buffer, static_cast<size_t>(size));
    }
    py::object tree = py::cast(std::make_unique<PyTree>(std::move(*loaded.tree)));
    py::object weights = py::none();
    if (loaded.weights) weights = py::cast(std::make_unique<PyWeights>(std::move(*loaded.weights)));
    return loaded_tree.make(tree, weights);
  });
  m.def(
      "native_benchmark",
      [](int rule, double c_explore, int64_t simulations, int32_t width, int32_t batch, uint64_t seed) {
        mcts::TreeConfig c;
        c.rule = rule == 1 ? mcts::Rule::kUcb1 : mcts::Rule::kPuct;
        c.c_explore = c_explore;
        c.widen_c = std::numeric_limits<double>::infinity();
        mcts::BenchmarkResult r;
        {
          py::gil_scoped_release nogil;
          r = mcts::run_native_benchmark(c, simulations, width, batch, seed);
        }
        return benchmark_result.make(r.simulations, r.nodes, r.seconds, r.cpu_seconds);
      },
      py::arg("rule"), py::arg("c_explore"), py::arg("simulations"), py::arg("width"), py::arg("batch"),
      py::arg("seed"));
}

}  // namespace mcts_py
