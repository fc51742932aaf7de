// Bindings of mcts::Tree: one call per batch; arrays in and out as numpy.
#include <Python.h>

#include <string>

#include "bindings.h"

namespace mcts_py {

namespace {

void check_rows(const char* op, const char* name, py::ssize_t got, py::ssize_t want) {
  if (got != want)
    throw std::invalid_argument(std::string(op) + ": " + name + " has " + std::to_string(got) +
                                " rows but parents has " + std::to_string(want));
}

// list/tuple of str -> one UTF-8 buffer + byte length per row (needs the GIL).
void gather_texts(const py::object& actions, py::ssize_t n, std::string& texts, std::vector<uint32_t>& lengths) {
  lengths.assign(static_cast<size_t>(n), 0);
  if (actions.is_none()) return;
  py::object seq = py::reinterpret_steal<py::object>(PySequence_Fast(actions.ptr(), "actions must be a list of str"));
  if (!seq) throw py::error_already_set();
  check_rows("expand", "actions", PySequence_Fast_GET_SIZE(seq.ptr()), n);
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  for (py::ssize_t i = 0; i < n; ++i) {
    if (!PyUnicode_Check(items[i]))
      throw py::type_error("expand: actions[" + std::to_string(i) + "] must be str, got " +
                           std::string(Py_TYPE(items[i])->tp_name));
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(items[i], &size);
    if (!utf8) throw py::error_already_set();
    if (static_cast<uint64_t>(size) > UINT32_MAX) throw std::invalid_argument("expand: an action over 4 GiB");
    texts.append(utf8, static_cast<size_t>(size));
    lengths[static_cast<size_t>(i)] = static_cast<uint32_t>(size);
  }
}

// The named results of Tree's methods (types defined in bind_tree).
NamedResult tree_settings, selection, node_columns, flat_paths, q_bounds;

// Per-node fields of the given ids (all nodes when ids is null), copied under the lock.
struct NodeRows {
  std::vector<int32_t> parent, depth, visits, teacher, in_flight;
  std::vector<double> value_sum, prior, reward;
  std::vector<uint8_t> flags;

  void fill(const mcts::Tree& t, const int32_t* ids, size_t n) {
    for (auto* v : {&parent, &depth, &visits, &teacher, &in_flight}) v->resize(n);
    for (auto* v : {&value_sum, &prior, &reward}) v->resize(n);
    flags.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int32_t id = ids ? ids[i] : static_cast<int32_t>(i);
      parent[i] = t.parent[id];
      depth[i] = t.depth[id];
      visits[i] = t.visits[id];
      teacher[i] = t.teacher[id];
      in_flight[i] = t.in_flight[id];
      value_sum[i] = t.value_sum[id];
      prior[i] = t.prior[id];
      reward[i] = t.reward[id];
      flags[i] = t.flags[id];
    }
  }
  py::object to_python() const {
    return node_columns.make(to_numpy(parent), to_numpy(depth), to_numpy(visits), to_numpy(value_sum),
                             to_numpy(prior), to_numpy(reward), to_numpy(teacher), to_numpy(flags),
                             to_numpy(in_flight));
  }
};

py::str decode(const std::string& s) { return py::str(s.data(), s.size()); }

}  // namespace

void bind_tree(py::module_& m) {
  m.attr("BYTES_PER_NODE") = mcts::kBytesPerNode;
  tree_settings.define(m, "TreeSettings", "Tree.config(): the settings a native tree runs with (rule 0 puct, 1 ucb1)",
                       {"rule", "c_explore", "fpu_reduction", "virtual_loss", "widen_c", "widen_alpha", "discount",
                        "max_nodes"});
  selection.define(m, "SelectResult", "Tree.select(k): the leaves, their kinds and room, and their flat paths",
                   {"leaves", "kinds", "room", "path_nodes", "path_offsets"});
  node_columns.define(m, "NodeColumns", "Tree.nodes(ids): one array per node field, one row per id",
                      {"parent", "depth", "visits", "value_sum", "prior", "reward", "teacher", "flags", "in_flight"});
  flat_paths.define(m, "FlatPaths", "Tree.terminal_paths(): path i is nodes[offsets[i]:offsets[i + 1]]",
                    {"nodes", "offsets"});
  q_bounds.define(m, "QBounds", "Tree.q_bounds(): min and max of the returns backed up so far", {"low", "high"});
  py::class_<PyTree>(m, "Tree")
      .def(py::init([](int rule, double c_explore, double fpu_reduction, double virtual_loss, double widen_c,
                       double widen_alpha, double discount, int64_t max_nodes) {
             if (rule != 0 && rule != 1) throw std::invalid_argument("rule must be 0 (puct) or 1 (ucb1)");
             mcts::TreeConfig c;
             c.rule = static_cast<mcts::Rule>(rule);
             c.c_explore = c_explore;
             c.fpu_reduction = fpu_reduction;
             c.virtual_loss = virtual_loss;
             c.widen_c = widen_c;
             c.widen_alpha = widen_alpha;
             c.discount = discount;
             c.max_nodes = max_nodes;
             return std::make_unique<PyTree>(c);
           }),
           py::arg("rule"), py::arg("c_explore"), py::arg("fpu_reduction"), py::arg("virtual_loss"),
           py::arg("widen_c"), py::arg("widen_alpha"), py::arg("discount"), py::arg("max_nodes"))
      .def("config", [](PyTree& t) {
        const mcts::TreeConfig& c = t.tree.config();
        return tree_settings.make(static_cast<int>(c.rule), c.c_explore, c.fpu_reduction, c.virtual_loss, c.widen_c,
                                  c.widen_alpha, c.discount, c.max_nodes);
      })
      .def("__len__", [](PyTree& t) { return locked(t, [](mcts::Tree& tree) { return tree.size(); }); })
      .def("select",
           [](PyTree& t, int64_t k) {
             mcts::Selection s;
             locked(t, [&](mcts::Tree& tree) { tree.select(k, s); });
             return selection.make(to_numpy(s.leaves), to_numpy(s.kinds), to_numpy(s.room), to_numpy(s.path_nodes),
                                   to_numpy(s.path_offsets));
           })
      .def("expand",
           [](PyTree& t, InArray<int32_t> parents, InArray<double> priors, InArray<int32_t> teachers,
              InArray<double> rewards, InArray<uint8_t> terminal, py::object actions) {
             const py::ssize_t n = parents.size();
             check_rows("expand", "priors", priors.size(), n);
             check_rows("expand", "teachers", teachers.size(), n);
             check_rows("expand", "rewards", rewards.size(), n);
             check_rows("expand", "terminal", terminal.size(), n);
             std::string texts;
             std::vector<uint32_t> lengths;
             gather_texts(actions, n, texts, lengths);
             const int32_t first = locked(t, [&](mcts::Tree& tree) {
               return tree.expand(parents.data(), priors.data(), teachers.data(), rewards.data(), terminal.data(),
                                  texts, lengths.data(), n);
             });
             py::array_t<int32_t> ids(n);
             for (py::ssize_t i = 0; i < n; ++i) ids.mutable_data()[i] = first + static_cast<int32_t>(i);
             return ids;
           })
      .def("backup",
           [](PyTree& t, InArray<int32_t> leaves, InArray<double> values) {
             if (leaves.size() != values.size())
               throw std::invalid_argument("backup: " + std::to_string(leaves.size()) + " leaves but " +
                                           std::to_string(values.size()) + " values");
             locked(t, [&](mcts::Tree& tree) { tree.backup(leaves.data(), values.data(), leaves.size()); });
           })
      .def("cancel", [](PyTree& t, InArray<int32_t> leaves) {
        locked(t, [&](mcts::Tree& tree) { tree.cancel(leaves.data(), leaves.size()); });
      })
      .def("descend", [](PyTree& t, InArray<int32_t> leaves, InArray<int32_t> children) {
        if (leaves.size() != children.size())
          throw std::invalid_argument("descend: " + std::to_string(leaves.size()) + " leaves but " +
                                      std::to_string(children.size()) + " children");
        locked(t, [&](mcts::Tree& tree) { tree.descend(leaves.data(), children.data(), leaves.size()); });
      })
      .def("mark_saturated", [](PyTree& t, InArray<int32_t> nodes) {
        locked(t, [&](mcts::Tree& tree) { tree.mark_saturated(nodes.data(), nodes.size()); });
      })
      .def("mark_terminal", [](PyTree& t, InArray<int32_t> nodes) {
        locked(t, [&](mcts::Tree& tree) { tree.mark_terminal(nodes.data(), nodes.size()); });
      })
      .def("nodes",
           [](PyTree& t, py::object ids_or_none) {
             NodeRows rows;
             if (ids_or_none.is_none()) {
               locked(t, [&](mcts::Tree& tree) { rows.fill(tree, nullptr, static_cast<size_t>(tree.size())); });
             } else {
               InArray<int32_t> ids = ids_or_none.cast<InArray<int32_t>>();
               locked(t, [&](mcts::Tree& tree) {
                 for (py::ssize_t i = 0; i < ids.size(); ++i) tree.check_id(ids.data()[i], "nodes");
                 rows.fill(tree, ids.data(), static_cast<size_t>(ids.size()));
               });
             }
             return rows.to_python();
           })
      .def("children",
           [](PyTree& t, int64_t id) {
             std::vector<int32_t> out;
             locked(t, [&](mcts::Tree& tree) {
               tree.check_id(id, "children");
               tree.children(static_cast<int32_t>(id), out);
             });
             return to_numpy(out);
           })
      .def("num_children",
           [](PyTree& t, int64_t id) {
             return locked(t, [&](mcts::Tree& tree) {
               tree.check_id(id, "num_children");
               return tree.num_children(static_cast<int32_t>(id));
             });
           })
      .def("path",
           [](PyTree& t, int64_t id) {
             std::vector<int32_t> out;
             locked(t, [&](mcts::Tree& tree) {
               tree.check_id(id, "path");
               tree.path(static_cast<int32_t>(id), out);
             });
             return to_numpy(out);
           })
      .def("best_path",
           [](PyTree& t, bool by_visits) {
             std::vector<int32_t> out;
             locked(t, [&](mcts::Tree& tree) { tree.best_path(by_visits, out); });
             return to_numpy(out);
           })
      .def("terminal_paths",
           [](PyTree& t) {
             std::vector<int32_t> nodes, offsets;
             locked(t, [&](mcts::Tree& tree) { tree.terminal_paths(nodes, offsets); });
             return flat_paths.make(to_numpy(nodes), to_numpy(offsets));
           })
      .def("actions",
           [](PyTree& t, InArray<int32_t> ids) {
             std::vector<std::string> texts;
             locked(t, [&](mcts::Tree& tree) {
               for (py::ssize_t i = 0; i < ids.size(); ++i) tree.check_id(ids.data()[i], "actions");
               for (py::ssize_t i = 0; i < ids.size(); ++i) texts.push_back(tree.action(ids.data()[i]));
             });
             py::list out;
             for (const auto& s : texts) out.append(decode(s));
             return out;
           })
      .def("text",
           [](PyTree& t, int64_t id) {
             std::string s = locked(t, [&](mcts::Tree& tree) {
               tree.check_id(id, "text");
               return tree.text(static_cast<int32_t>(id));
             });
             return decode(s);
           })
      .def("reroot",
           [](PyTree& t, int64_t new_root) {
             std::vector<int32_t> old_to_new;
             locked(t, [&](mcts::Tree& tree) {
               tree.check_id(new_root, "reroot");
               tree.reroot(static_cast<int32_t>(new_root), old_to_new);
             });
             return to_numpy(old_to_new);
           })
      .def("q_bounds",
           [](PyTree& t) {
             auto qs = locked(t, [](mcts::Tree& tree) { return std::make_pair(tree.q_min, tree.q_max); });
             return q_bounds.make(qs.first, qs.second);
           })
      .def("include_q_range",
           [](PyTree& t, double low, double high) {
             locked(t, [&](mcts::Tree& tree) { tree.include_q_range(low, high); });
           })
      .def("normalized_q",
           [](PyTree& t, double q) { return locked(t, [&](mcts::Tree& tree) { return tree.normalized_q(q); }); })
      .def("memory_bytes",
           [](PyTree& t) { return locked(t, [](mcts::Tree& tree) { return tree.memory_bytes(); }); });
}

}  // namespace mcts_py
