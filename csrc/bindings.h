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
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>
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

// The type of a named result: a struct sequence (a tuple subclass whose fields also have names, like
// os.stat_result), so Python reads `rows.visits`, never `rows[2]`. Made as fast as a tuple. The field
// names are given once, where the values are produced; `make` takes the values in that order.
class NamedResult {
 public:
  // Adds the type to module `m` as `name`; `fields` must be string literals (the type keeps pointers).
  void define(py::module_& m, const char* name, const char* doc, std::initializer_list<const char*> fields) {
    std::vector<PyStructSequence_Field>& slots = *new std::vector<PyStructSequence_Field>();  // lives as long as the type
    for (const char* f : fields) slots.push_back({f, nullptr});
    slots.push_back({nullptr, nullptr});
    std::string& qualified = *new std::string(std::string(PyModule_GetName(m.ptr())) + "." + name);
    PyStructSequence_Desc desc{qualified.c_str(), doc, slots.data(), static_cast<int>(fields.size())};
    type_ = PyStructSequence_NewType(&desc);
    if (!type_) throw py::error_already_set();
    size_ = fields.size();
    m.add_object(name, py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(type_)));
  }

  template <class... T>
  py::object make(T&&... values) const {
    if (sizeof...(T) != size_) throw std::logic_error("NamedResult::make: wrong number of fields");
    // As py::make_tuple converts its arguments (numpy arrays and objects pass through).
    py::object items[] = {py::reinterpret_steal<py::object>(py::detail::make_caster<T>::cast(
        std::forward<T>(values), py::return_value_policy::automatic_reference, nullptr))...};
    for (const py::object& item : items)
      if (!item) throw py::error_already_set();
    // What PyStructSequence_New does, less its two lookups of the field counts in the type's dict
    // per call (a tenth of a select call): every field is visible, so the object is exactly a
    // PyStructSequence (a PyTupleObject) of size_ items, each set below.
    PyStructSequence* out = PyObject_GC_NewVar(PyStructSequence, type_, static_cast<Py_ssize_t>(size_));
    if (!out) throw py::error_already_set();
    for (size_t i = 0; i < sizeof...(T); ++i) out->ob_item[i] = items[i].release().ptr();
    return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(out));
  }

 private:
  PyTypeObject* type_ = nullptr;
  size_t size_ = 0;
};

void bind_tree(py::module_& m);
void bind_weights(py::module_& m);
void bind_io(py::module_& m);

}  // namespace mcts_py
