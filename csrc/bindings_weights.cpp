// Bindings of mcts::TeacherWeights.
#include <string>

#include <pybind11/stl.h>

#include "bindings.h"

namespace mcts_py {

namespace {

// The named results of TeacherWeights' methods (types defined in bind_weights).
NamedResult weights_settings, weights_state;

}  // namespace

void bind_weights(py::module_& m) {
  weights_settings.define(m, "WeightsSettings", "TeacherWeights.config(): the settings native weights run with",
                          {"ema_rate", "temperature", "floor", "epsilon", "max_weight", "stale_bonus",
                           "max_stale_draws", "gamma"});
  weights_state.define(m, "WeightsState",
                       "TeacherWeights.state(): scores, draws since each teacher's last pick, picks per teacher, "
                       "draws, the RNG state and the probability history [T, N]",
                       {"scores", "since_pick", "picks", "draws", "rng_state", "history"});
  py::class_<PyWeights>(m, "TeacherWeights")
      .def(py::init([](std::vector<std::string> names, double ema_rate, double temperature, double floor,
                       double epsilon, double max_weight, double stale_bonus, int64_t max_stale_draws, double gamma,
                       uint64_t seed) {
             mcts::WeightsConfig c;
             c.ema_rate = ema_rate;
             c.temperature = temperature;
             c.floor = floor;
             c.epsilon = epsilon;
             c.max_weight = max_weight;
             c.stale_bonus = stale_bonus;
             c.max_stale_draws = max_stale_draws;
             c.gamma = gamma;
             return std::make_unique<PyWeights>(mcts::TeacherWeights(std::move(names), c, seed));
           }),
           py::arg("names"), py::arg("ema_rate"), py::arg("temperature"), py::arg("floor"), py::arg("epsilon"),
           py::arg("max_weight"), py::arg("stale_bonus"), py::arg("max_stale_draws"), py::arg("gamma"),
           py::arg("seed"))
      .def("names", [](PyWeights& w) { return w.weights.names(); })
      .def("config",
           [](PyWeights& w) {
             const mcts::WeightsConfig& c = w.weights.config();
             return weights_settings.make(c.ema_rate, c.temperature, c.floor, c.epsilon, c.max_weight, c.stale_bonus,
                                          c.max_stale_draws, c.gamma);
           })
      .def("stale_bound", [](PyWeights& w) { return w.weights.stale_bound(); })
      .def("probabilities",
           [](PyWeights& w) {
             return to_numpy(locked(w, [](mcts::TeacherWeights& tw) { return tw.probabilities(); }));
           })
      .def("sampling_probabilities",
           [](PyWeights& w) {
             return to_numpy(locked(w, [](mcts::TeacherWeights& tw) { return tw.sampling_probabilities(); }));
           })
      .def("sample",
           [](PyWeights& w, int64_t k) {
             std::vector<int32_t> picks;
             locked(w, [&](mcts::TeacherWeights& tw) { tw.sample(k, picks); });
             return to_numpy(picks);
           })
      .def("update",
           [](PyWeights& w, int64_t teacher, double outcome) {
             locked(w, [&](mcts::TeacherWeights& tw) { tw.update(teacher, outcome); });
           })
      .def("credit_path",
           [](PyWeights& w, InArray<int32_t> teachers, double outcome) {
             locked(w, [&](mcts::TeacherWeights& tw) { tw.credit_path(teachers.data(), teachers.size(), outcome); });
           })
      .def("state",
           [](PyWeights& w) {
             std::vector<double> scores, history;
             std::vector<int64_t> since_pick, picks;
             int64_t draws = 0;
             uint64_t rng_state = 0;
             locked(w, [&](mcts::TeacherWeights& tw) {
               scores = tw.scores;
               history = tw.history;
               since_pick = tw.since_pick;
               picks = tw.picks;
               draws = tw.draws;
               rng_state = tw.rng.state();
             });
             const auto n = static_cast<py::ssize_t>(scores.size());
             py::array_t<double> hist = to_numpy(history);
             return weights_state.make(to_numpy(scores), to_numpy(since_pick), to_numpy(picks), draws, rng_state,
                                       hist.reshape({static_cast<py::ssize_t>(history.size()) / n, n}));
           });
}

}  // namespace mcts_py
