// pybind11 module mcts._core. Python users go through the facade in mcts/tree.py and
// mcts/weights.py; the signatures are listed in mcts/_core.pyi.
#include "bindings.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "Native core of mcts-llm (private: use mcts.Tree and mcts.TeacherWeights)";
  m.attr("__version__") = MCTS_VERSION;
  py::register_exception<mcts::FormatError>(m, "TreeFormatError", PyExc_ValueError);
  py::register_exception<mcts::TreeFullError>(m, "TreeFullError", PyExc_RuntimeError);
  mcts_py::bind_tree(m);
  mcts_py::bind_weights(m);
  mcts_py::bind_io(m);
}
