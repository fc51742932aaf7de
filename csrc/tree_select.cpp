// Selection: descend from the root by PUCT or UCB1 until a leaf, K times per call, with virtual
// loss along each chosen path so the K leaves are distinct.
//
// Scores (all in double; tests/reference_tree.py computes the same expressions in the same order):
//   qn(c)   = normalised Q of child c, or FPU = qn(parent) - fpu_reduction when c is unvisited
//   n_eff   = N(c) + virtual_loss * in_flight(c)
//   q_eff   = qn(c) * N(c) / n_eff when in flight (each in-flight visit scores the worst value, 0)
//   PUCT    = q_eff + (c * sqrt(max(N_eff(parent), 1))) * P(c) / (1 + n_eff)   (AlphaZero)
//   UCB1    = q_eff + c * sqrt(ln(max(N_eff(parent), 1)) / max(n_eff, 1))  (Auer et al. 2002)
// Ties go to the oldest child (lowest id).
// Children are scored a run at a time (see tree.h): contiguous slices of the statistics arrays.
#include <cmath>

#include "tree.h"

namespace mcts {

namespace {
// A child that cannot lead to a new leaf in this call.
inline bool dead_child(uint8_t f) {
  if (f & kFlagBlocked) return true;
  const bool leaf_like = (f & kFlagTerminal) || !(f & kFlagExpanded);
  return leaf_like && (f & kFlagPending);
}

// A hint to start loading p's cache line; nothing where the compiler has no such builtin.
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

int32_t clamp_room(double limit, int32_t have) {
  const double room = std::ceil(limit) - have;
  return room >= INT32_MAX ? INT32_MAX : static_cast<int32_t>(room);
}

// What the score of every child of one parent shares.
struct ParentTerms {
  double vl;              // virtual loss
  double fpu;             // Q of an unvisited child
  double explore_parent;  // PUCT: c * sqrt(N_parent); UCB1: ln(N_parent)
  double c;
  bool spread;            // q_max > q_min: normalise Q, else every visited child scores 0.5
  double q_low;           // q_min
  double q_range;         // q_max - q_min when spread, else 1 (unused, keeps the division harmless)
};

// Whether any of n in-flight counters (>= 0) is nonzero: an OR reduction without early exit, so
// it vectorises.
bool any_in_flight(const int32_t* flight, int n) {
  int32_t any = 0;
  for (int i = 0; i < n; ++i) any |= flight[i];
  return any != 0;
}

// Scores `count` consecutive children; the pointers are at the first one. Every branch is a
// select on per-child data (both sides are computed, divisors are made nonzero), so the compiler
// turns the loop into SIMD code; each lane computes the scalar expressions of the file comment in
// the same order, so the scores are bit-identical to scalar ones. kFlying = false is the common
// case of no child in flight (always so with one selection per call): then n_eff = N + vl * 0 is
// exactly N and q_eff is q, so the virtual-loss terms are skipped without changing a bit.
template <bool kPuct, bool kFlying>
inline void score_children(const ParentTerms& terms, const int32_t* __restrict n_visits,
                           const int32_t* __restrict n_flight, const double* __restrict w_sum,
                           const float* __restrict p_prior, int count, double* __restrict out) {
  const ParentTerms t = terms;  // a local copy: its fields stay in registers across the stores
  const bool vl_on = t.vl > 0;
  for (int i = 0; i < count; ++i) {
    const bool visited = n_visits[i] > 0;
    const double n = n_visits[i];
    const double n_eff = kFlying ? n + t.vl * n_flight[i] : n;
    // Arithmetic runs unconditionally on safe divisors; only its results are selected.
    const double qn = (w_sum[i] / (visited ? n : 1.0) - t.q_low) / t.q_range;
    double q = visited ? (t.spread ? qn : 0.5) : t.fpu;
    if constexpr (kFlying) {
      // In flight: each pending visit scores 0 (visited implies n_eff >= n > 0).
      const double q_vl = q * n / (visited ? n_eff : 1.0);
      q = n_flight[i] > 0 && vl_on ? (visited ? q_vl : 0.0) : q;
    }
    double u;
    if constexpr (kPuct)
      u = t.explore_parent * p_prior[i] / (1.0 + n_eff);
    else
      u = t.c * std::sqrt(t.explore_parent / (n_eff > 1.0 ? n_eff : 1.0));
    out[i] = q + u;
  }
}

// x86-64 Linux builds compile the scoring loop twice, for AVX2 (4 doubles per instruction) and
// for the baseline (SSE2, 2), and pick one at load time. AVX2 brings no FMA here, and
// -ffp-contract=off forbids contraction anyway, so both clones compute the same bits.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define MCTS_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MCTS_SIMD_CLONES
#endif

MCTS_SIMD_CLONES
void score_run(bool puct, bool flying, const ParentTerms& t, const int32_t* n_visits, const int32_t* n_flight,
               const double* w_sum, const float* p_prior, int count, double* out) {
  if (puct && flying) score_children<true, true>(t, n_visits, n_flight, w_sum, p_prior, count, out);
  if (puct && !flying) score_children<true, false>(t, n_visits, n_flight, w_sum, p_prior, count, out);
  if (!puct && flying) score_children<false, true>(t, n_visits, n_flight, w_sum, p_prior, count, out);
  if (!puct && !flying) score_children<false, false>(t, n_visits, n_flight, w_sum, p_prior, count, out);
}
}  // namespace

int32_t Tree::widen_room(NodeId node, int32_t num_children) const {
  if (!config_.widening()) return kUnlimitedRoom;
  const double n = visits[node] > 0 ? static_cast<double>(visits[node]) : 1.0;
  const double limit = config_.widen_c * std::pow(n, config_.widen_alpha);
  if (!(num_children < limit)) return 0;
  return clamp_room(limit, num_children);
}

Tree::ChildChoice Tree::best_child(NodeId node, bool any_blocked) const {
  ParentTerms t;
  t.vl = config_.virtual_loss;
  const double n_parent = visits[node] + t.vl * in_flight[node];
  const double parent_qn = visits[node] > 0 ? normalized_q(value_sum[node] / visits[node]) : 0.5;
  t.fpu = parent_qn - config_.fpu_reduction;
  const bool puct = config_.rule == Rule::kPuct;
  const double n_floor = n_parent > 1.0 ? n_parent : 1.0;
  t.explore_parent = puct ? config_.c_explore * std::sqrt(n_floor) : std::log(n_floor);
  t.c = config_.c_explore;
  t.spread = q_max > q_min;
  t.q_low = q_min;
  t.q_range = t.spread ? q_max - q_min : 1.0;

  const auto dead = [&](NodeId c) { return (in_flight[c] > 0 || any_blocked) && dead_child(flags[c]); };
  ChildChoice choice;
  double best_score = 0.0;
  // Score a slice of a run into a buffer (SIMD, the divisions overlap), then take the argmax in
  // ascending id order: ">" hands ties to the oldest child.
  constexpr int kBlock = 64;
  double scores[kBlock];
  for (NodeId head = first_child[node]; head != kNoChild; head = next_run[head]) {
    const NodeId run_end = head + run_length[head];
    choice.count += run_length[head];
    for (NodeId begin = head; begin < run_end; begin += kBlock) {
      const int count = run_end - begin < kBlock ? run_end - begin : kBlock;
      // The next level reads first_child of the winner: fetch it while the scores are computed.
      prefetch(&first_child[begin]);
      const bool flying = any_in_flight(&in_flight[begin], count);
      score_run(puct, flying, t, &visits[begin], &in_flight[begin], &value_sum[begin], &prior[begin], count,
                scores);
      int i = 0;
      if (choice.best == kNoChild) {  // the first live child is the best so far, whatever its score
        while (i < count && dead(begin + i)) ++i;
        if (i == count) continue;
        choice.best = begin + i;
        best_score = scores[i++];
      }
      // Pending implies in flight, so flags matter only for children in flight (or once
      // something is blocked); a block without either takes the plain argmax.
      const bool check_flags = any_blocked || flying;
      for (; i < count; ++i) {
        if (scores[i] > best_score && !(check_flags && dead(begin + i))) {
          choice.best = begin + i;
          best_score = scores[i];
        }
      }
    }
  }
  return choice;
}

void Tree::select(int64_t k, Selection& out) {
  if (k < 0) throw std::invalid_argument("select: k must be >= 0, got " + std::to_string(k));
  out.clear();
  std::vector<NodeId>& path = scratch_path_;
  scratch_blocked_.clear();
  const auto block = [&](NodeId node) {
    flags[node] |= kFlagBlocked;
    scratch_blocked_.push_back(node);
  };

  while (static_cast<int64_t>(out.leaves.size()) < k && !(flags[kRoot] & kFlagBlocked)) {
    path.clear();
    NodeId node = kRoot;
    bool found = false;
    LeafKind kind = LeafKind::kExpand;
    int32_t room = 0;
    for (;;) {
      path.push_back(node);
      const uint8_t f = flags[node];
      const bool pending = f & kFlagPending;
      if ((f & kFlagTerminal) || !(f & kFlagExpanded)) {
        if (pending) {  // only reachable at the root; children are filtered by dead_child
          block(node);
          break;
        }
        found = true;
        kind = (f & kFlagTerminal) ? LeafKind::kTerminal : LeafKind::kExpand;
        room = (f & kFlagTerminal) ? 0 : widen_room(node, 0);
        break;
      }
      const ChildChoice choice = best_child(node, !scratch_blocked_.empty());
      if (!pending && !(f & kFlagSaturated)) {
        const int32_t widen = widen_room(node, choice.count);
        if (widen > 0) {
          found = true;
          kind = LeafKind::kWiden;
          room = widen;
          break;
        }
      }
      if (choice.best == kNoChild) {  // everything below is pending, blocked or missing
        block(node);
        break;
      }
      node = choice.best;
    }
    if (!found) continue;  // a dead end was blocked; descend again from the root

    for (NodeId n : path) {
      ++in_flight[n];
      // backup() walks this path up through parent[] and reward[], arrays selection never reads:
      // start loading them now rather than one dependent miss per level then.
      prefetch(&parent[n]);
      prefetch(&reward[n]);
    }
    prefetch(&depth[node]);  // expand() reads the leaf's depth
    flags[node] |= kFlagPending;
    out.leaves.push_back(node);
    out.kinds.push_back(static_cast<uint8_t>(kind));
    out.room.push_back(room);
    out.path_nodes.insert(out.path_nodes.end(), path.begin(), path.end());
    out.path_offsets.push_back(static_cast<int32_t>(out.path_nodes.size()));
  }
  for (NodeId n : scratch_blocked_) flags[n] &= static_cast<uint8_t>(~kFlagBlocked);
}

}  // namespace mcts
