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

int32_t clamp_room(double limit, int32_t have) {
  const double room = std::ceil(limit) - have;
  return room >= INT32_MAX ? INT32_MAX : static_cast<int32_t>(room);
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
  const double vl = config_.virtual_loss;
  const double n_parent = visits[node] + vl * in_flight[node];
  const double parent_qn = visits[node] > 0 ? normalized_q(value_sum[node] / visits[node]) : 0.5;
  const double fpu = parent_qn - config_.fpu_reduction;
  const bool puct = config_.rule == Rule::kPuct;
  const double n_floor = n_parent > 1.0 ? n_parent : 1.0;
  // PUCT: c * sqrt(N_parent) per parent; UCB1: ln(N_parent).
  const double explore_parent = puct ? config_.c_explore * std::sqrt(n_floor) : std::log(n_floor);
  const double c = config_.c_explore;
  const bool spread = q_max > q_min;  // normalized_q() inlined with its invariants hoisted
  const double q_low = q_min;
  const double q_range = q_max - q_min;
  // Raw pointers: the hot loop reads five arrays and never writes.
  const NodeId* __restrict sibling = next_sibling.data();
  const int32_t* __restrict n_visits = visits.data();
  const int32_t* __restrict n_flight = in_flight.data();
  const double* __restrict w_sum = value_sum.data();
  const float* __restrict p_prior = prior.data();

  ChildChoice choice;
  double best_score = 0.0;
  // Two passes per block of children: scoring has no dependency from one child to the next, so
  // the CPU overlaps the divisions of a whole block; only the cheap argmax below is sequential.
  constexpr int kBlock = 16;
  NodeId block_ids[kBlock];
  double block_scores[kBlock];
  int pending = 0;
  const auto take_best = [&] {
    // Children are listed newest first; ">=" hands ties to the oldest.
    for (int i = 0; i < pending; ++i) {
      if (choice.best == kNoChild || block_scores[i] >= best_score) {
        choice.best = block_ids[i];
        best_score = block_scores[i];
      }
    }
    pending = 0;
  };
  for (NodeId child = first_child[node]; child != kNoChild; child = sibling[child]) {
    ++choice.count;
    const int32_t flight = n_flight[child];
    // Pending implies in flight, so flags matter only then (or once something is blocked).
    if ((flight > 0 || any_blocked) && dead_child(flags[child])) continue;
    const double n = n_visits[child];
    const double n_eff = n + vl * flight;
    double q = n > 0 ? (spread ? (w_sum[child] / n - q_low) / q_range : 0.5) : fpu;
    if (flight > 0 && vl > 0) q = n > 0 ? q * n / n_eff : 0.0;
    const double u = puct ? explore_parent * p_prior[child] / (1.0 + n_eff)
                          : c * std::sqrt(explore_parent / (n_eff > 1.0 ? n_eff : 1.0));
    block_ids[pending] = child;
    block_scores[pending] = q + u;
    if (++pending == kBlock) take_best();
  }
  take_best();
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

    for (NodeId n : path) ++in_flight[n];
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
