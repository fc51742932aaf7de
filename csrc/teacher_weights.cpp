// Teacher weights: EMA scores, softmax, floor/cap projection, anti-stale sampling, path credit.
// tests/reference_weights.py is the Python oracle; keep the arithmetic in the same order.
#include "teacher_weights.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <set>
#include <stdexcept>

namespace mcts {

namespace {
constexpr double kTolerance = 1e-12;
// Shortest readable form of a double for error messages (0.9, not 0.900000).
std::string num(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}
double clip(double x, double lo, double hi) { return std::min(std::max(x, lo), hi); }
}  // namespace

void WeightsConfig::validate(int64_t n) const {
  if (n < 1) throw std::invalid_argument("TeacherWeights needs at least one teacher, got " + std::to_string(n));
  const double dn = static_cast<double>(n);
  if (!(ema_rate > 0 && ema_rate <= 1))
    throw std::invalid_argument("ema_rate must be in (0, 1], got " + num(ema_rate));
  if (!(std::isfinite(temperature) && temperature > 0))
    throw std::invalid_argument("temperature must be finite and > 0, got " + num(temperature));
  if (!(floor >= 0 && floor * dn <= 1 + kTolerance))
    throw std::invalid_argument("floor must be in [0, 1/n] = [0, " + num(1 / dn) + "] for n=" +
                                std::to_string(n) + " teachers, got " + num(floor));
  if (!(max_weight <= 1 && max_weight * dn >= 1 - kTolerance))
    throw std::invalid_argument("max_weight must be in [1/n, 1] = [" + num(1 / dn) + ", 1] for n=" +
                                std::to_string(n) + " teachers, got " + num(max_weight));
  if (!(max_weight >= floor))
    throw std::invalid_argument("max_weight (" + num(max_weight) + ") must be >= floor (" + num(floor) + ")");
  if (!(epsilon >= 0 && epsilon <= 1))
    throw std::invalid_argument("epsilon must be in [0, 1], got " + num(epsilon));
  if (!(std::isfinite(stale_bonus) && stale_bonus >= 0))
    throw std::invalid_argument("stale_bonus must be finite and >= 0, got " + num(stale_bonus));
  if (max_stale_draws < n)
    throw std::invalid_argument("max_stale_draws must be >= n=" + std::to_string(n) +
                                " (every teacher must fit in one round), got " + std::to_string(max_stale_draws));
  if (!(gamma >= 0 && gamma <= 1)) throw std::invalid_argument("gamma must be in [0, 1], got " + num(gamma));
}

std::vector<double> project_capped_simplex(const std::vector<double>& b, double lo, double hi) {
  const size_t n = b.size();
  // g(lambda) = sum_i clip(b_i - lambda, lo, hi) falls piecewise linearly; find g(lambda) = 1
  // between the breakpoints b_i - hi and b_i - lo (Held, Wolfe & Crowder 1974).
  std::vector<double> breaks;
  breaks.reserve(2 * n);
  for (double x : b) breaks.push_back(x - hi);
  for (double x : b) breaks.push_back(x - lo);
  std::sort(breaks.begin(), breaks.end());
  const auto g = [&](double lambda) {
    double total = 0.0;
    for (double x : b) total += clip(x - lambda, lo, hi);
    return total;
  };
  double lambda = breaks.back();
  double g_prev = 0.0;
  for (size_t k = 0; k < breaks.size(); ++k) {
    const double g_k = g(breaks[k]);
    if (g_k <= 1.0) {
      lambda = k == 0 ? breaks[0]
                      : breaks[k - 1] + (g_prev - 1.0) / (g_prev - g_k) * (breaks[k] - breaks[k - 1]);
      break;
    }
    g_prev = g_k;
  }
  std::vector<double> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = clip(b[i] - lambda, lo, hi);
  return p;
}

TeacherWeights::TeacherWeights(std::vector<std::string> names, const WeightsConfig& config, uint64_t seed)
    : rng(seed), names_(std::move(names)), config_(config) {
  config_.validate(size());
  std::set<std::string> seen;
  for (const auto& name : names_) {
    if (name.empty()) throw std::invalid_argument("teacher names must not be empty");
    if (!seen.insert(name).second) throw std::invalid_argument("teacher name '" + name + "' appears twice");
  }
  scores.assign(names_.size(), 0.0);
  since_pick.assign(names_.size(), 0);
  picks.assign(names_.size(), 0);
  record_history();
}

std::vector<double> TeacherWeights::probabilities() const {
  const size_t n = scores.size();
  std::vector<double> b(n);
  double top = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    b[i] = scores[i] / config_.temperature;
    top = std::max(top, b[i]);
  }
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    b[i] = std::exp(b[i] - top);
    total += b[i];
  }
  for (size_t i = 0; i < n; ++i) b[i] /= total;
  return project_capped_simplex(b, config_.floor, config_.max_weight);
}

std::vector<double> TeacherWeights::sampling_probabilities() const {
  std::vector<double> w = probabilities();
  const size_t n = w.size();
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    w[i] *= 1.0 + config_.stale_bonus * std::sqrt(std::log1p(static_cast<double>(since_pick[i])));
    total += w[i];
  }
  for (size_t i = 0; i < n; ++i) w[i] /= total;
  std::vector<double> f = project_capped_simplex(w, config_.floor, config_.max_weight);
  const double eps = config_.epsilon;
  for (size_t i = 0; i < n; ++i) f[i] = (1.0 - eps) * f[i] + eps / static_cast<double>(n);
  return f;
}

void TeacherWeights::sample(int64_t k, std::vector<int32_t>& out) {
  if (k < 0) throw std::invalid_argument("sample: k must be >= 0, got " + std::to_string(k));
  out.clear();
  const size_t n = scores.size();
  for (int64_t draw = 0; draw < k; ++draw) {
    const double u = rng.uniform();
    size_t stalest = 0;
    for (size_t i = 1; i < n; ++i)
      if (since_pick[i] > since_pick[stalest]) stalest = i;
    size_t pick = stalest;
    if (since_pick[stalest] < config_.max_stale_draws) {
      const std::vector<double> f = sampling_probabilities();
      double acc = 0.0;
      pick = n;
      for (size_t i = 0; i < n && pick == n; ++i) {
        acc += f[i];
        if (u < acc) pick = i;
      }
      if (pick == n)  // rounding left u above the last partial sum: take the last possible teacher
        for (size_t i = 0; i < n; ++i)
          if (f[i] > 0) pick = i;
    }
    for (size_t i = 0; i < n; ++i) since_pick[i] += 1;
    since_pick[pick] = 0;
    picks[pick] += 1;
    draws += 1;
    out.push_back(static_cast<int32_t>(pick));
  }
}

void TeacherWeights::check_teacher(int64_t teacher, const char* op) const {
  if (teacher < 0 || teacher >= size())
    throw std::out_of_range(std::string(op) + ": teacher id " + std::to_string(teacher) +
                            " is not in 0.." + std::to_string(size() - 1));
}

void TeacherWeights::check_outcome(double outcome, const char* op) const {
  if (!std::isfinite(outcome))
    throw std::invalid_argument(std::string(op) + ": outcome must be finite, got " + num(outcome));
}

void TeacherWeights::update(int64_t teacher, double outcome) {
  check_teacher(teacher, "update");
  check_outcome(outcome, "update");
  scores[teacher] += config_.ema_rate * (outcome - scores[teacher]);
  record_history();
}

void TeacherWeights::credit_path(const int32_t* teachers, int64_t length, double outcome) {
  check_outcome(outcome, "credit_path");
  for (int64_t j = 0; j < length; ++j)
    if (teachers[j] != -1) check_teacher(teachers[j], "credit_path");
  for (int64_t j = 0; j < length; ++j) {
    if (teachers[j] == -1) continue;
    const double rate = config_.ema_rate * std::pow(config_.gamma, static_cast<double>(length - 1 - j));
    scores[teachers[j]] += rate * (outcome - scores[teachers[j]]);
  }
  record_history();
}

void TeacherWeights::record_history() {
  const std::vector<double> p = probabilities();
  history.insert(history.end(), p.begin(), p.end());
}

}  // namespace mcts
