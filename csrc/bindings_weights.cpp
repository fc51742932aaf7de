// Bindings of mcts::TeacherWeights.
#include <algorithm>
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "bindings.h"

namespace mcts_py {

namespace {

// The named results of TeacherWeights' methods (types defined in bind_weights).
NamedResult weights_settings, weights_state, context_state;

// A [rows, n] view of a row-major vector.
py::array_t<double> rows_of(const std::vector<double>& values, size_t n) {
  py::array_t<double> flat = to_numpy(values);
  return flat.reshape({static_cast<py::ssize_t>(values.size() / n), static_cast<py::ssize_t>(n)});
}

}  // namespace

void bind_weights(py::module_& m) {
  weights_settings.define(m, "WeightsSettings", "TeacherWeights.config(): the settings native weights run with",
                          {"ema_rate", "temperature", "floor", "epsilon", "max_weight", "stale_bonus",
                           "max_stale_draws", "gamma", "context_prior", "max_contexts", "warmup"});
  weights_state.define(m, "WeightsState",
                       "TeacherWeights.state(): scores, draws since each teacher's last pick, picks per teacher, "
                       "draws, the RNG state, the probability history [T, N] and unseen (the warm-up products)",
                       {"scores", "since_pick", "picks", "draws", "rng_state", "history", "unseen"});
  context_state.define(m, "ContextState",
                       "TeacherWeights.context_state(c): context c's scores, anti-stale counters, draws, evidence "
                       "(credited steps), its probability history [R, N], the global history row of each and unseen",
                       {"scores", "since_pick", "picks", "draws", "evidence", "history", "history_at", "unseen"});
  py::class_<PyWeights>(m, "TeacherWeights")
      .def(py::init([](std::vector<std::string> names, double ema_rate, double temperature, double floor,
                       double epsilon, double max_weight, double stale_bonus, int64_t max_stale_draws, double gamma,
                       double context_prior, int64_t max_contexts, bool warmup, uint64_t seed) {
             mcts::WeightsConfig c;
             c.ema_rate = ema_rate;
             c.temperature = temperature;
             c.floor = floor;
             c.epsilon = epsilon;
             c.max_weight = max_weight;
             c.stale_bonus = stale_bonus;
             c.max_stale_draws = max_stale_draws;
             c.gamma = gamma;
             c.context_prior = context_prior;
             c.max_contexts = max_contexts;
             c.warmup = warmup;
             return std::make_unique<PyWeights>(mcts::TeacherWeights(std::move(names), c, seed));
           }),
           py::arg("names"), py::arg("ema_rate"), py::arg("temperature"), py::arg("floor"), py::arg("epsilon"),
           py::arg("max_weight"), py::arg("stale_bonus"), py::arg("max_stale_draws"), py::arg("gamma"),
           py::arg("context_prior"), py::arg("max_contexts"), py::arg("warmup"), py::arg("seed"))
      .def("names", [](PyWeights& w) { return w.weights.names(); })
      .def("config",
           [](PyWeights& w) {
             const mcts::WeightsConfig& c = w.weights.config();
             return weights_settings.make(c.ema_rate, c.temperature, c.floor, c.epsilon, c.max_weight, c.stale_bonus,
                                          c.max_stale_draws, c.gamma, c.context_prior, c.max_contexts, c.warmup);
           })
      .def("stale_bound", [](PyWeights& w) { return w.weights.stale_bound(); })
      .def(
          "probabilities",
          [](PyWeights& w, int32_t context) {
            return to_numpy(locked(w, [&](mcts::TeacherWeights& tw) { return tw.probabilities(context); }));
          },
          py::arg("context") = mcts::kNoContext)
      .def(
          "sampling_probabilities",
          [](PyWeights& w, int32_t context) {
            return to_numpy(locked(w, [&](mcts::TeacherWeights& tw) { return tw.sampling_probabilities(context); }));
          },
          py::arg("context") = mcts::kNoContext)
      .def("context_weight",
           [](PyWeights& w, int32_t context) {
             return locked(w, [&](mcts::TeacherWeights& tw) { return tw.context_weight(context); });
           })
      // Two bindings, not one with a default context: a default argument costs the global draw,
      // which the search makes once per iteration, a tenth of its call.
      .def("sample",
           [](PyWeights& w, int64_t k) {
             std::vector<int32_t> picks;
             locked(w, [&](mcts::TeacherWeights& tw) { tw.sample(k, picks); });
             return to_numpy(picks);
           })
      .def("sample_in",
           [](PyWeights& w, int64_t k, int32_t context) {
             std::vector<int32_t> picks;
             locked(w, [&](mcts::TeacherWeights& tw) { tw.sample(k, picks, context); });
             return to_numpy(picks);
           })
      // A list, not an array: the search passes a few leaves' ids, and converting a short list costs
      // a fraction of making an array of it (pybind refuses floats and ids outside int32).
      .def("sample_per_context",
           [](PyWeights& w, const std::vector<int32_t>& contexts, int64_t k) {
             std::vector<int32_t> picks;
             const int64_t m = static_cast<int64_t>(contexts.size());
             locked(w, [&](mcts::TeacherWeights& tw) { tw.sample_per_context(contexts.data(), m, k, picks); });
             py::array_t<int32_t> out({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(std::max<int64_t>(k, 0))});
             if (!picks.empty()) std::memcpy(out.mutable_data(), picks.data(), picks.size() * sizeof(int32_t));
             return out;
           },
           py::arg("contexts"), py::arg("k"))
      .def(
          "update",
          [](PyWeights& w, int64_t teacher, double outcome, int32_t context) {
            locked(w, [&](mcts::TeacherWeights& tw) { tw.update(teacher, outcome, context); });
          },
          py::arg("teacher"), py::arg("outcome"), py::arg("context") = mcts::kNoContext)
      .def(
          "credit_path",
          // contexts as a list, like sample_per_context's: a path is a few steps
          [](PyWeights& w, InArray<int32_t> teachers, double outcome, std::optional<std::vector<int32_t>> contexts) {
            if (contexts && static_cast<py::ssize_t>(contexts->size()) != teachers.size())
              throw std::invalid_argument("credit_path: " + std::to_string(contexts->size()) + " contexts for " +
                                          std::to_string(teachers.size()) + " steps");
            const int32_t* ids = contexts ? contexts->data() : nullptr;
            locked(w, [&](mcts::TeacherWeights& tw) { tw.credit_path(teachers.data(), teachers.size(), outcome, ids); });
          },
          py::arg("teachers"), py::arg("outcome"), py::arg("contexts") = py::none())
      .def("num_contexts",
           [](PyWeights& w) {
             return locked(w, [](mcts::TeacherWeights& tw) { return static_cast<int64_t>(tw.contexts.size()); });
           })
      .def("context_state",
           [](PyWeights& w, int32_t context) {
             mcts::ContextWeights c;
             size_t n = 0;
             locked(w, [&](mcts::TeacherWeights& tw) {
               tw.check_context(context, "context_state");
               if (context == mcts::kNoContext) throw std::out_of_range("context_state: -1 is the global weights; use state()");
               n = static_cast<size_t>(tw.size());
               if (static_cast<size_t>(context) < tw.contexts.size()) {
                 c = tw.contexts[context];
               } else {  // untouched: what context_at would make
                 c.scores.assign(n, 0.0);
                 c.unseen.assign(n, 1.0);
                 c.since_pick.assign(n, 0);
                 c.picks.assign(n, 0);
               }
             });
             return context_state.make(to_numpy(c.scores), to_numpy(c.since_pick), to_numpy(c.picks), c.draws,
                                       c.evidence, rows_of(c.history, n), to_numpy(c.history_at), to_numpy(c.unseen));
           })
      .def("state",
           [](PyWeights& w) {
             std::vector<double> scores, history, unseen;
             std::vector<int64_t> since_pick, picks;
             int64_t draws = 0;
             uint64_t rng_state = 0;
             locked(w, [&](mcts::TeacherWeights& tw) {
               scores = tw.scores;
               unseen = tw.unseen;
               history = tw.history;
               since_pick = tw.since_pick;
               picks = tw.picks;
               draws = tw.draws;
               rng_state = tw.rng.state();
             });
             const auto n = static_cast<py::ssize_t>(scores.size());
             py::array_t<double> hist = to_numpy(history);
             return weights_state.make(to_numpy(scores), to_numpy(since_pick), to_numpy(picks), draws, rng_state,
                                       hist.reshape({static_cast<py::ssize_t>(history.size()) / n, n}), to_numpy(unseen));
           });
}

}  // namespace mcts_py
