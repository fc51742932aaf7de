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
  if (!(std::isfinite(context_prior) && context_prior >= 0))
    throw std::invalid_argument("context_prior must be finite and >= 0, got " + num(context_prior));
  if (max_contexts < 0 || max_contexts > kMaxContexts)
    throw std::invalid_argument("max_contexts must be in [0, " + std::to_string(kMaxContexts) + "], got " +
                                std::to_string(max_contexts));
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
  unseen.assign(names_.size(), 1.0);
  since_pick.assign(names_.size(), 0);
  picks.assign(names_.size(), 0);
  record_history();
}

std::vector<double> TeacherWeights::projected_softmax(const std::vector<double>& s) const {
  const size_t n = s.size();
  std::vector<double> b(n);
  double top = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    b[i] = s[i] / config_.temperature;
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

const ContextWeights* TeacherWeights::find_context(int32_t context) const {
  if (context == kNoContext) return nullptr;
  check_context(context, "context");
  return static_cast<size_t>(context) < contexts.size() ? &contexts[context] : nullptr;
}

ContextWeights& TeacherWeights::context_at(int32_t context) {
  const size_t n = names_.size();
  while (contexts.size() <= static_cast<size_t>(context)) {
    ContextWeights fresh;
    fresh.scores.assign(n, 0.0);
    fresh.unseen.assign(n, 1.0);
    fresh.since_pick.assign(n, 0);
    fresh.picks.assign(n, 0);
    contexts.push_back(std::move(fresh));
  }
  return contexts[context];
}

double TeacherWeights::context_weight(int32_t context) const {
  const ContextWeights* c = find_context(context);
  if (!c || c->evidence == 0) return 0.0;
  const double n = static_cast<double>(c->evidence);
  return n / (n + config_.context_prior);
}

std::vector<double> TeacherWeights::global_estimates() const {
  if (!config_.warmup) return scores;
  const size_t n = scores.size();
  std::vector<double> m(n, 0.0);
  double total = 0.0;
  size_t credited = 0;
  for (size_t i = 0; i < n; ++i) {
    if (unseen[i] < 1.0) {
      m[i] = scores[i] / (1.0 - unseen[i]);
      total += m[i];
      ++credited;
    }
  }
  const double mean = credited ? total / static_cast<double>(credited) : 0.0;
  for (size_t i = 0; i < n; ++i)
    if (!(unseen[i] < 1.0)) m[i] = mean;
  return m;
}

const std::vector<double>& TeacherWeights::cached_probabilities(int32_t context) const {
  const ContextWeights* c = find_context(context);
  if (!c || c->evidence == 0) {
    if (global_cache_.version != scores_version_) {
      global_cache_.p = projected_softmax(global_estimates());
      global_cache_.version = scores_version_;
    }
    return global_cache_.p;
  }
  if (context_cache_.size() <= static_cast<size_t>(context)) context_cache_.resize(context + 1);
  CachedProbabilities& cached = context_cache_[context];
  if (cached.version != scores_version_) {
    const double lambda = context_weight(context);
    const std::vector<double> g = global_estimates();
    std::vector<double> e(scores.size());
    for (size_t i = 0; i < e.size(); ++i) {
      double own = c->scores[i];
      if (config_.warmup) own = c->unseen[i] < 1.0 ? c->scores[i] / (1.0 - c->unseen[i]) : g[i];
      e[i] = (1.0 - lambda) * g[i] + lambda * own;
    }
    cached.p = projected_softmax(e);
    cached.version = scores_version_;
  }
  return cached.p;
}

std::vector<double> TeacherWeights::probabilities(int32_t context) const { return cached_probabilities(context); }

std::vector<double> TeacherWeights::sampling_from(std::vector<double> w, const std::vector<int64_t>& since) const {
  const size_t n = w.size();
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    w[i] *= 1.0 + config_.stale_bonus * std::sqrt(std::log1p(static_cast<double>(since[i])));
    total += w[i];
  }
  for (size_t i = 0; i < n; ++i) w[i] /= total;
  std::vector<double> f = project_capped_simplex(w, config_.floor, config_.max_weight);
  const double eps = config_.epsilon;
  for (size_t i = 0; i < n; ++i) f[i] = (1.0 - eps) * f[i] + eps / static_cast<double>(n);
  return f;
}

std::vector<double> TeacherWeights::sampling_probabilities(int32_t context) const {
  const ContextWeights* c = find_context(context);
  if (context == kNoContext) return sampling_from(cached_probabilities(context), since_pick);
  return sampling_from(cached_probabilities(context), c ? c->since_pick : std::vector<int64_t>(names_.size(), 0));
}

int32_t TeacherWeights::draw(int32_t context, const std::vector<double>& p) {
  ContextWeights* c = context == kNoContext ? nullptr : &context_at(context);
  const std::vector<int64_t>& since = c ? c->since_pick : since_pick;
  const size_t n = scores.size();
  const double u = rng.uniform();
  size_t stalest = 0;
  for (size_t i = 1; i < n; ++i)
    if (since[i] > since[stalest]) stalest = i;
  size_t pick = stalest;
  if (since[stalest] < config_.max_stale_draws) {
    const std::vector<double> f = sampling_from(p, since);
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
  if (c) {
    for (size_t i = 0; i < n; ++i) c->since_pick[i] += 1;
    c->since_pick[pick] = 0;
    c->picks[pick] += 1;
    c->draws += 1;
  }
  return static_cast<int32_t>(pick);
}

void TeacherWeights::sample(int64_t k, std::vector<int32_t>& out, int32_t context) {
  if (k < 0) throw std::invalid_argument("sample: k must be >= 0, got " + std::to_string(k));
  check_context(context, "sample");
  out.clear();
  for (int64_t d = 0; d < k; ++d) out.push_back(draw(context, cached_probabilities(context)));
}

void TeacherWeights::sample_per_context(const int32_t* ids, int64_t m, int64_t k, std::vector<int32_t>& out) {
  if (k < 0) throw std::invalid_argument("sample_per_context: k must be >= 0, got " + std::to_string(k));
  for (int64_t row = 0; row < m; ++row) check_context(ids[row], "sample_per_context");
  out.clear();
  out.reserve(static_cast<size_t>(m * k));
  for (int64_t row = 0; row < m; ++row)
    for (int64_t d = 0; d < k; ++d) out.push_back(draw(ids[row], cached_probabilities(ids[row])));
}

void TeacherWeights::check_context(int64_t context, const char* op) const {
  if (context == kNoContext) return;
  if (context < 0 || context >= config_.max_contexts)
    throw std::out_of_range(std::string(op) + ": context id " + std::to_string(context) + " is not in 0.." +
                            std::to_string(config_.max_contexts - 1) + " (max_contexts = " +
                            std::to_string(config_.max_contexts) + ") or -1 (the global weights)");
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

void TeacherWeights::update(int64_t teacher, double outcome, int32_t context) {
  check_teacher(teacher, "update");
  check_outcome(outcome, "update");
  check_context(context, "update");
  scores_changed();
  credit(scores, unseen, teacher, config_.ema_rate, outcome);
  if (context != kNoContext) {
    ContextWeights& c = context_at(context);
    credit(c.scores, c.unseen, teacher, config_.ema_rate, outcome);
    c.evidence += 1;
  }
  record_history();
  if (context != kNoContext) record_context_history(context);
}

void TeacherWeights::credit_path(const int32_t* teachers, int64_t length, double outcome, const int32_t* ids) {
  check_outcome(outcome, "credit_path");
  for (int64_t j = 0; j < length; ++j) {
    if (teachers[j] != -1) check_teacher(teachers[j], "credit_path");
    if (ids) check_context(ids[j], "credit_path");
  }
  scores_changed();
  std::vector<int32_t> touched;
  for (int64_t j = 0; j < length; ++j) {
    if (teachers[j] == -1) continue;
    const double rate = config_.ema_rate * std::pow(config_.gamma, static_cast<double>(length - 1 - j));
    credit(scores, unseen, teachers[j], rate, outcome);
    if (ids && ids[j] != kNoContext) {
      ContextWeights& c = context_at(ids[j]);
      credit(c.scores, c.unseen, teachers[j], rate, outcome);
      c.evidence += 1;
      touched.push_back(ids[j]);
    }
  }
  record_history();
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (int32_t context : touched) record_context_history(context);  // ascending ids
}

void TeacherWeights::credit(std::vector<double>& s, std::vector<double>& u, int64_t teacher, double rate, double outcome) {
  s[teacher] += rate * (outcome - s[teacher]);
  u[teacher] *= 1.0 - rate;
}

void TeacherWeights::record_history() {
  const std::vector<double>& p = cached_probabilities(kNoContext);
  history.insert(history.end(), p.begin(), p.end());
}

void TeacherWeights::record_context_history(int32_t context) {
  const std::vector<double>& p = cached_probabilities(context);
  ContextWeights& c = contexts[context];
  c.history.insert(c.history.end(), p.begin(), p.end());
  c.history_at.push_back(static_cast<int64_t>(history.size() / names_.size()) - 1);
}

}  // namespace mcts
