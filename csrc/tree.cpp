// Tree construction, configuration checks and the node-append primitive.
#include <cmath>
#include <sstream>
#include <string>

#include "tree.h"

namespace mcts {

namespace {
// Shortest readable form of a double for error messages (0.9, not 0.900000).
std::string num(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}
}  // namespace

void TreeConfig::validate() const {
  if (!(std::isfinite(c_explore) && c_explore >= 0))
    throw std::invalid_argument("c_explore must be finite and >= 0, got " + num(c_explore));
  if (std::isnan(fpu_reduction))
    throw std::invalid_argument("fpu_reduction must not be NaN (use -inf for 'try every child first')");
  if (!(std::isfinite(virtual_loss) && virtual_loss >= 0))
    throw std::invalid_argument("virtual_loss must be finite and >= 0, got " + num(virtual_loss));
  if (!(widen_c > 0))
    throw std::invalid_argument("widen_c must be > 0 (None turns widening off), got " + num(widen_c));
  if (!(std::isfinite(widen_alpha) && widen_alpha >= 0 && widen_alpha <= 1))
    throw std::invalid_argument("widen_alpha must be in [0, 1], got " + num(widen_alpha));
  if (!(std::isfinite(discount) && discount >= 0 && discount <= 1))
    throw std::invalid_argument("discount must be in [0, 1], got " + num(discount));
  if (max_nodes < 1 || max_nodes > INT32_MAX)
    throw std::invalid_argument("max_nodes must be in [1, 2**31 - 1], got " + std::to_string(max_nodes));
}

bool TreeConfig::widening() const { return !std::isinf(widen_c); }

void Selection::clear() {
  leaves.clear();
  kinds.clear();
  room.clear();
  path_nodes.clear();
  path_offsets.assign(1, 0);
}

Tree::Tree(const TreeConfig& config) : config_(config) {
  config_.validate();
  push_node(kNoParent, 1.0f, kNoTeacher, 0.0f, false, nullptr, 0);
}

void Tree::check_id(int64_t id, const char* what) const {
  if (id < 0 || id >= size())
    throw NodeIdError(std::string(what) + ": node id " + std::to_string(id) +
                      " is not in the tree (valid ids are 0.." + std::to_string(size() - 1) + ")");
}

NodeId Tree::push_node(NodeId parent_id, float prior_value, int32_t teacher_id, float reward_value,
                       bool terminal, const char* text, uint32_t text_length) {
  const NodeId id = static_cast<NodeId>(parent.size());
  parent.push_back(parent_id);
  first_child.push_back(kNoChild);
  next_sibling.push_back(kNoChild);
  if (parent_id != kNoParent) {
    next_sibling[id] = first_child[parent_id];
    first_child[parent_id] = id;
  }
  depth.push_back(parent_id == kNoParent ? 0 : static_cast<uint16_t>(depth[parent_id] + 1));
  teacher.push_back(static_cast<int16_t>(teacher_id));
  prior.push_back(prior_value);
  reward.push_back(reward_value);
  arena.insert(arena.end(), text, text + text_length);
  action_end.push_back(static_cast<uint32_t>(arena.size()));
  flags.push_back(terminal ? kFlagTerminal : 0);
  visits.push_back(0);
  value_sum.push_back(0.0);
  in_flight.push_back(0);
  return id;
}

void Tree::reserve(int64_t n, int64_t text_bytes) {
  if (n < 0 || text_bytes < 0) throw std::invalid_argument("reserve: negative size");
  if (n > config_.max_nodes) n = config_.max_nodes;
  const auto nodes = static_cast<size_t>(n);
  for (auto* v : {&parent, &first_child, &next_sibling, &visits, &in_flight}) v->reserve(nodes);
  depth.reserve(nodes);
  teacher.reserve(nodes);
  prior.reserve(nodes);
  reward.reserve(nodes);
  action_end.reserve(nodes);
  flags.reserve(nodes);
  value_sum.reserve(nodes);
  arena.reserve(static_cast<size_t>(text_bytes));
}

void Tree::rebuild_child_links() {
  std::fill(first_child.begin(), first_child.end(), kNoChild);
  for (NodeId i = 1; i < static_cast<NodeId>(size()); ++i) {
    next_sibling[i] = first_child[parent[i]];
    first_child[parent[i]] = i;
  }
  if (size() > 0) next_sibling[kRoot] = kNoChild;
}

int64_t Tree::memory_bytes() const {
  return static_cast<int64_t>(
      parent.capacity() * sizeof(NodeId) * 3 + depth.capacity() * sizeof(uint16_t) +
      teacher.capacity() * sizeof(int16_t) + prior.capacity() * sizeof(float) * 2 +
      action_end.capacity() * sizeof(uint32_t) + flags.capacity() +
      visits.capacity() * sizeof(int32_t) * 2 + value_sum.capacity() * sizeof(double) +
      arena.capacity());
}

}  // namespace mcts
