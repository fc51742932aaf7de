// Dynamic weights over an ensemble of N teachers: how likely each is to be asked for the next proposals.
//
// probabilities():
//   scores s_i start at 0 (so p starts at 1/N) and follow an exponential moving average of the
//   outcomes credited to teacher i: s_i <- s_i + rate * (outcome - s_i);
//   b = softmax(s / temperature);
//   p = the Euclidean projection of b onto {floor <= p_i <= max_weight, sum p = 1}, i.e.
//       p_i = clip(b_i - lambda, floor, max_weight) with lambda solving sum p = 1. The projection
//       is the exploration floor (no teacher below it) and the dominance cap in one step.
// sample(k): k draws. Before each draw d_i = draws since teacher i was last picked.
//   If some d_i >= max_stale_draws, the most stale teacher is picked (ties: lowest index): the
//   hard anti-stale rule. Otherwise the pick is drawn from
//       f = (1 - epsilon) * project(normalise(p_i * (1 + stale_bonus * sqrt(ln(1 + d_i))))) + epsilon / N
//   (a UCB-style bonus that grows with the time since the last pick, then epsilon-exploration).
//   Each draw consumes exactly one uniform from the SplitMix64 RNG.
//   Bound: with max_stale_draws = M >= N, no teacher goes more than M + N - 1 consecutive draws
//   unpicked (once d_i >= M every draw is forced, and each of the at most N - 1 teachers ahead
//   of i drops behind it for good when it is picked).
// credit_path(ids, outcome): the teacher of step j of L steps (root..leaf) is updated with rate
//   rate * gamma^(L - 1 - j), in path order; kNoTeacher entries (the root) are skipped.
//
// Contexts (where a teacher is good: depth, or an id the task defines) — ids 0..max_contexts-1;
// kNoContext (-1) is the global weights above, unchanged. Context c keeps its own EMA scores s_c
// (the same rates; a step credited in c also moves the global scores) and its own anti-stale
// counters, and backs off to the global scores while it has little evidence:
//   n_c = steps credited in c (update() counts one), lambda_c = n_c / (n_c + context_prior)
//   (0 while n_c = 0), e = (1 - lambda_c) * s_global + lambda_c * s_c,
//   probabilities(c) = project(softmax(e / temperature)), floor and cap as above;
//   sampling_probabilities(c) and sample(k, c) as above with c's since_pick (d_i = draws in c since
//   teacher i was last picked in c), so the anti-stale bound holds within each context. A draw in c
//   also counts as a global draw (global since_pick, picks, draws). An untouched context is the
//   global weights with fresh anti-stale counters.
//
// Warm-up (config.warmup): an EMA that starts at 0 reads a teacher credited a few times as a small
// fraction of its success rate, so a new context (or a new run) ranks teachers by how often they were
// credited rather than how well they did. With warm-up the softmax reads the bias-corrected estimate
// (Adam's correction) instead of s_i:
//   u_i = product over teacher i's credits of (1 - rate)   (1 before any credit; kept per context too)
//   m_i = s_i / (1 - u_i)
// the rate-weighted mean of i's outcomes while it has few credits, the EMA itself once it has many
// (u_i -> 0). A teacher not credited yet (u_i = 1) reads as the mean estimate of the credited ones
// (0 while none is); in a context, as its global estimate. The context blend above mixes estimates:
// e = (1 - lambda_c) * m_global + lambda_c * m_c. The EMA update itself is the same either way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rng.h"

namespace mcts {

struct WeightsConfig {
  double ema_rate = 0.1;
  double temperature = 0.25;
  double floor = 0.0;
  double epsilon = 0.05;
  double max_weight = 1.0;
  double stale_bonus = 0.5;
  int64_t max_stale_draws = 0;
  double gamma = 0.9;
  // The two context settings as mcts/weights.py WeightsConfig defaults them (a version-1 weights file,
  // written before contexts, loads with these).
  double context_prior = 10.0;  // k in lambda_c = n_c / (n_c + k); 0: a context is its own from its first credit
  int64_t max_contexts = 16;    // context ids are 0..max_contexts-1
  // Read bias-corrected scores (see the header). A weights file written before warm-up (format
  // version <= 2) loads with warmup = false, as it ran.
  bool warmup = true;

  void validate(int64_t n) const;  // throws std::invalid_argument naming the bad value
};

// p_i = clip(b_i - lambda, lo, hi) with sum p = 1; needs n*lo <= 1 <= n*hi.
std::vector<double> project_capped_simplex(const std::vector<double>& b, double lo, double hi);

constexpr int32_t kNoContext = -1;  // the global weights
constexpr int64_t kMaxContexts = 1 << 16;  // bound on max_contexts: a corrupt file cannot ask for more

// One context's share of the weights, learned from the steps taken in it.
struct ContextWeights {
  std::vector<double> scores;        // EMA of the outcomes credited to steps in this context, finite
  std::vector<double> unseen;        // u_i: product of (1 - rate) over i's credits in this context, in [0, 1]
  std::vector<int64_t> since_pick;   // draws in this context since teacher i was last picked in it, >= 0
  std::vector<int64_t> picks;        // times teacher i was drawn in this context, >= 0
  int64_t draws = 0;                 // draws in this context
  int64_t evidence = 0;              // n_c: steps credited in this context, >= 0
  std::vector<double> history;       // probabilities(c) after every credit that touched c, row-major
  std::vector<int64_t> history_at;   // for each of those rows, the global history row recorded with it
};

class TeacherWeights {
 public:
  TeacherWeights(std::vector<std::string> names, const WeightsConfig& config, uint64_t seed);

  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  const WeightsConfig& config() const { return config_; }
  int64_t stale_bound() const { return config_.max_stale_draws + size() - 1; }

  std::vector<double> probabilities(int32_t context = kNoContext) const;
  std::vector<double> sampling_probabilities(int32_t context = kNoContext) const;
  double context_weight(int32_t context) const;  // lambda_c; 0 for kNoContext
  // k draws in one context, appended to picks after clearing it.
  void sample(int64_t k, std::vector<int32_t>& picks, int32_t context = kNoContext);
  // k draws in each of contexts[0..m), in that order (row-major [m, k]).
  void sample_per_context(const int32_t* contexts, int64_t m, int64_t k, std::vector<int32_t>& picks);
  void update(int64_t teacher, double outcome, int32_t context = kNoContext);
  // contexts: null, or the context of each step (kNoContext: the step moves the global scores only).
  void credit_path(const int32_t* teachers, int64_t length, double outcome, const int32_t* contexts = nullptr);

  // State, exposed for reading, saving and loading.
  std::vector<double> scores;          // EMA of credited outcomes, finite
  std::vector<double> unseen;          // u_i: product of (1 - rate) over teacher i's credits, in [0, 1]
  std::vector<int64_t> since_pick;     // d_i: draws since teacher i was last picked, >= 0
  std::vector<int64_t> picks;          // times teacher i was drawn, >= 0
  int64_t draws = 0;                   // total draws
  std::vector<double> history;         // probabilities() after construction and every credit, row-major
  SplitMix64 rng;
  std::vector<ContextWeights> contexts;  // index = context id; grown on first touch, <= max_contexts

  void record_history();
  ContextWeights& context_at(int32_t context);  // grows `contexts` to hold it; context >= 0
  void check_context(int64_t context, const char* op) const;
  // Probabilities are cached until the scores change; whoever writes `scores` or a context's
  // scores or evidence directly (a loader) must call this afterwards.
  void scores_changed() { ++scores_version_; }

 private:
  void check_teacher(int64_t teacher, const char* op) const;
  void check_outcome(double outcome, const char* op) const;
  const ContextWeights* find_context(int32_t context) const;  // null: global, or not touched yet
  std::vector<double> projected_softmax(const std::vector<double>& scores) const;
  // What the softmax reads for the global weights: m_i with warm-up, s_i without.
  std::vector<double> global_estimates() const;
  void credit(std::vector<double>& s, std::vector<double>& u, int64_t teacher, double rate, double outcome);
  std::vector<double> sampling_from(std::vector<double> p, const std::vector<int64_t>& since) const;
  // probabilities(context), computed once per scores_version_: a pick no longer pays for a softmax
  // and a projection that only a credit can change. The reference lives until the next call.
  const std::vector<double>& cached_probabilities(int32_t context) const;
  int32_t draw(int32_t context, const std::vector<double>& p);  // one draw; p = probabilities(context)
  void record_context_history(int32_t context);
  std::vector<std::string> names_;
  WeightsConfig config_;
  uint64_t scores_version_ = 0;  // bumped whenever any score or evidence changes
  struct CachedProbabilities {
    uint64_t version = ~0ull;  // the scores_version_ `p` was computed at; ~0: never
    std::vector<double> p;
  };
  mutable CachedProbabilities global_cache_;
  mutable std::vector<CachedProbabilities> context_cache_;  // index = context id
};

}  // namespace mcts
