// Shared pieces of the pybind11 bindings: the Python-owned wrappers and numpy helpers.
//
// Locking protocol: every call releases the GIL first and then takes the object's mutex, and
// gives the mutex back before it takes the GIL again. So no thread waits for the mutex while
// holding the GIL or for the GIL while holding the mutex (no deadlock), and two Python threads
// never run native code on the same object at once (no data race). Results are copied out under
// the mutex and turned into Python objects after it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "teacher_weights.h"
#include "tree.h"

namespace mcts_py {

namespace py = pybind11;

struct PyTree {
  explicit PyTree(const mcts::TreeConfig& config) : tree(config) {}
  explicit PyTree(mcts::Tree&& t) : tree(std::move(t)) {}
  mcts::Tree tree;
  std::mutex mutex;
};

struct PyWeights {
  explicit PyWeights(mcts::TeacherWeights&& w) : weights(std::move(w)) {}
  mcts::TeacherWeights weights;
  std::mutex mutex;
};

// Runs fn(object) without the GIL and with the object's mutex held.
template <class Wrapper, class Fn>
auto locked(Wrapper& w, Fn&& fn) {
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(w.mutex);
  if constexpr (std::is_same_v<Wrapper, PyTree>) {
    return fn(w.tree);
  } else {
    return fn(w.weights);
  }
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& values) {
  py::array_t<T> out(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(T));
  return out;
}

template <class T>
using InArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

void bind_tree(py::module_& m);
void bind_weights(py::module_& m);
void bind_io(py::module_& m);

}  // namespace mcts_py
