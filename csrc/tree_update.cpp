// Updates: expansion, saturation/terminal marks, backup and cancel. Every call checks all of its
// input before it changes anything, so a bad row leaves the tree as it was.
#include <cmath>
#include <limits>
#include <string>

#include "tree.h"

namespace mcts {

namespace {
std::string row(int64_t i) { return "row " + std::to_string(i) + ": "; }

// Priors and rewards are stored as float32; a larger double would not survive the cast.
bool fits_float32(double x) {
  return std::isfinite(x) && std::fabs(x) <= static_cast<double>(std::numeric_limits<float>::max());
}

}  // namespace

void Tree::include_q_range(double low, double high) {
  if (!(std::isfinite(low) && std::isfinite(high) && low <= high))
    throw std::invalid_argument("include_q_range: need finite low <= high, got " + std::to_string(low) +
                                ", " + std::to_string(high));
  if (low < q_min) q_min = low;
  if (high > q_max) q_max = high;
}

NodeId Tree::expand(const int32_t* parents, const double* priors, const int32_t* teachers,
                    const double* rewards, const uint8_t* terminal, const std::string& texts,
                    const uint32_t* text_lengths, int64_t n) {
  if (n < 0) throw std::invalid_argument("expand: negative row count " + std::to_string(n));
  if (size() + n > config_.max_nodes)
    throw TreeFullError("expand: " + std::to_string(n) + " new nodes would exceed max_nodes=" +
                        std::to_string(config_.max_nodes) + " (the tree has " +
                        std::to_string(size()) + "); reroot() or raise max_nodes");
  uint64_t text_total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const NodeId p = parents[i];
    check_id(p, "expand");
    if (flags[p] & kFlagTerminal)
      throw std::invalid_argument("expand: " + row(i) + "node " + std::to_string(p) +
                                  " is terminal; terminal nodes take no children");
    if (depth[p] + 1 > kMaxDepth)
      throw std::invalid_argument("expand: " + row(i) + "depth would exceed " + std::to_string(kMaxDepth));
    if (!(fits_float32(priors[i]) && priors[i] >= 0))
      throw std::invalid_argument("expand: " + row(i) + "prior must be finite, >= 0 and within float32, got " +
                                  std::to_string(priors[i]));
    if (!fits_float32(rewards[i]))
      throw std::invalid_argument("expand: " + row(i) + "reward must be finite and within float32, got " +
                                  std::to_string(rewards[i]));
    if (teachers[i] < kNoTeacher || teachers[i] > kMaxTeacher)
      throw std::invalid_argument("expand: " + row(i) + "teacher must be in [-1, " +
                                  std::to_string(kMaxTeacher) + "], got " + std::to_string(teachers[i]));
    text_total += text_lengths[i];
  }
  if (text_total != texts.size())
    throw std::invalid_argument("expand: text lengths add up to " + std::to_string(text_total) +
                                " bytes but " + std::to_string(texts.size()) + " were given");
  if (arena.size() + text_total > std::numeric_limits<uint32_t>::max())
    throw TreeFullError("expand: the action-text arena would exceed 4 GiB; reroot() to release text");

  const NodeId first = static_cast<NodeId>(size());
  // Bulk append: grow every array once, then fill (push_node per row is 14 capacity checks).
  resize_nodes(static_cast<size_t>(first + n));
  arena.insert(arena.end(), texts.begin(), texts.end());
  uint32_t text_end = action_end[first - 1];
  NodeId last_parent = kNoParent, last_tail = kNoChild;  // rows of one parent come in a block
  for (int64_t i = 0; i < n; ++i) {
    const NodeId id = first + static_cast<NodeId>(i);
    const NodeId p = parents[i];
    parent[id] = p;
    first_child[id] = kNoChild;
    next_run[id] = kNoChild;
    run_length[id] = 0;
    last_tail = link_child(p, id, p == last_parent ? last_tail : kNoChild);
    last_parent = p;
    depth[id] = static_cast<uint16_t>(depth[p] + 1);
    teacher[id] = static_cast<int16_t>(teachers[i]);
    prior[id] = static_cast<float>(priors[i]);
    reward[id] = static_cast<float>(rewards[i]);
    text_end += text_lengths[i];
    action_end[id] = text_end;
    flags[id] = terminal[i] ? kFlagTerminal : 0;
    visits[id] = 0;
    value_sum[id] = 0.0;
    in_flight[id] = 0;
    flags[p] |= kFlagExpanded;
  }
  return first;
}

void Tree::mark_saturated(const int32_t* nodes, int64_t n) {
  for (int64_t i = 0; i < n; ++i) check_id(nodes[i], "mark_saturated");
  for (int64_t i = 0; i < n; ++i) flags[nodes[i]] |= kFlagSaturated | kFlagExpanded;
}

void Tree::mark_terminal(const int32_t* nodes, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    check_id(nodes[i], "mark_terminal");
    if (first_child[nodes[i]] != kNoChild)
      throw std::invalid_argument("mark_terminal: node " + std::to_string(nodes[i]) +
                                  " has children; only a childless node can become terminal");
  }
  for (int64_t i = 0; i < n; ++i) flags[nodes[i]] |= kFlagTerminal;
}

// Every leaf must be pending and appear once; uses kFlagBlocked as a scratch "seen" mark.
void Tree::check_pending_leaves(const int32_t* leaves, int64_t n, const char* op) {
  int64_t bad = -1;
  std::string why;
  for (int64_t i = 0; i < n && bad < 0; ++i) {
    const int64_t leaf = leaves[i];
    if (leaf < 0 || leaf >= size()) {
      for (int64_t j = 0; j < i; ++j) flags[leaves[j]] &= static_cast<uint8_t>(~kFlagBlocked);
      check_id(leaf, op);
    }
    if (!(flags[leaf] & kFlagPending)) {
      bad = i;
      why = " was not selected (or was already backed up or cancelled)";
    } else if (flags[leaf] & kFlagBlocked) {
      bad = i;
      why = " appears twice in one call";
    } else {
      flags[leaf] |= kFlagBlocked;
    }
  }
  const int64_t marked = bad < 0 ? n : bad;
  for (int64_t j = 0; j < marked; ++j) flags[leaves[j]] &= static_cast<uint8_t>(~kFlagBlocked);
  if (bad >= 0)
    throw std::invalid_argument(std::string(op) + ": leaf " + std::to_string(leaves[bad]) + why);
}

void Tree::backup(const int32_t* leaves, const double* values, int64_t n) {
  if (n < 0) throw std::invalid_argument("backup: negative leaf count");
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i]))
      throw std::invalid_argument("backup: value for leaf " + std::to_string(leaves[i]) +
                                  " (row " + std::to_string(i) + ") is not finite: " +
                                  std::to_string(values[i]));
  check_pending_leaves(leaves, n, "backup");
  const double discount = config_.discount;
  for (int64_t i = 0; i < n; ++i) {
    NodeId node = leaves[i];
    flags[node] &= static_cast<uint8_t>(~kFlagPending);
    double g = static_cast<double>(reward[node]) + values[i];
    for (;;) {
      visits[node] += 1;
      value_sum[node] += g;
      in_flight[node] -= 1;
      if (g < q_min) q_min = g;
      if (g > q_max) q_max = g;
      const NodeId up = parent[node];
      if (up == kNoParent) break;
      g = static_cast<double>(reward[up]) + discount * g;
      node = up;
    }
  }
}

void Tree::descend(const int32_t* leaves, const int32_t* children, int64_t n) {
  if (n < 0) throw std::invalid_argument("descend: negative leaf count");
  check_pending_leaves(leaves, n, "descend");
  for (int64_t i = 0; i < n; ++i) {
    check_id(children[i], "descend");
    if (parent[children[i]] != leaves[i])
      throw std::invalid_argument("descend: node " + std::to_string(children[i]) + " is not a child of leaf " +
                                  std::to_string(leaves[i]));
    if (flags[children[i]] & kFlagPending)
      throw std::invalid_argument("descend: child " + std::to_string(children[i]) + " is already pending");
  }
  for (int64_t i = 0; i < n; ++i) {
    flags[leaves[i]] &= static_cast<uint8_t>(~kFlagPending);
    flags[children[i]] |= kFlagPending;
    in_flight[children[i]] += 1;
  }
}

void Tree::cancel(const int32_t* leaves, int64_t n) {
  if (n < 0) throw std::invalid_argument("cancel: negative leaf count");
  check_pending_leaves(leaves, n, "cancel");
  for (int64_t i = 0; i < n; ++i) {
    NodeId node = leaves[i];
    flags[node] &= static_cast<uint8_t>(~kFlagPending);
    for (; node != kNoParent; node = parent[node]) in_flight[node] -= 1;
  }
}

}  // namespace mcts
