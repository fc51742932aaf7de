// pybind11 bindings for mcts._core. Python users go through the facade in mcts/tree.py.
#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "Native core of mcts-llm (private: use mcts.Tree and mcts.TeacherWeights)";
  m.attr("__version__") = MCTS_VERSION;
}
