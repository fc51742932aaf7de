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

  void validate(int64_t n) const;  // throws std::invalid_argument naming the bad value
};

// p_i = clip(b_i - lambda, lo, hi) with sum p = 1; needs n*lo <= 1 <= n*hi.
std::vector<double> project_capped_simplex(const std::vector<double>& b, double lo, double hi);

class TeacherWeights {
 public:
  TeacherWeights(std::vector<std::string> names, const WeightsConfig& config, uint64_t seed);

  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  const WeightsConfig& config() const { return config_; }
  int64_t stale_bound() const { return config_.max_stale_draws + size() - 1; }

  std::vector<double> probabilities() const;
  std::vector<double> sampling_probabilities() const;
  void sample(int64_t k, std::vector<int32_t>& picks);
  void update(int64_t teacher, double outcome);
  void credit_path(const int32_t* teachers, int64_t length, double outcome);

  // State, exposed for reading, saving and loading.
  std::vector<double> scores;          // EMA of credited outcomes, finite
  std::vector<int64_t> since_pick;     // d_i: draws since teacher i was last picked, >= 0
  std::vector<int64_t> picks;          // times teacher i was drawn, >= 0
  int64_t draws = 0;                   // total draws
  std::vector<double> history;         // probabilities() after construction and every credit, row-major
  SplitMix64 rng;

  void record_history();

 private:
  void check_teacher(int64_t teacher, const char* op) const;
  void check_outcome(double outcome, const char* op) const;
  std::vector<std::string> names_;
  WeightsConfig config_;
};

}  // namespace mcts
