// Tree construction, configuration checks and the node-append primitive.
#include <algorithm>
#include <cmath>
#include <cstring>
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

void Tree::throw_bad_id(int64_t id, const char* what) const {
  throw NodeIdError(std::string(what) + ": node id " + std::to_string(id) +
                    " is not in the tree (valid ids are 0.." + std::to_string(size() - 1) + ")");
}

NodeId Tree::push_node(NodeId parent_id, float prior_value, int32_t teacher_id, float reward_value,
                       bool terminal, const char* text, uint32_t text_length) {
  const NodeId id = static_cast<NodeId>(parent.size());
  resize_nodes(static_cast<size_t>(id) + 1);
  parent[id] = parent_id;
  first_child[id] = kNoChild;
  next_run[id] = kNoChild;
  run_length[id] = 0;
  if (parent_id != kNoParent) link_child(parent_id, id, kNoChild);
  depth[id] = parent_id == kNoParent ? 0 : static_cast<uint16_t>(depth[parent_id] + 1);
  teacher[id] = static_cast<int16_t>(teacher_id);
  prior[id] = prior_value;
  reward[id] = reward_value;
  arena.insert(arena.end(), text, text + text_length);
  action_end[id] = static_cast<uint32_t>(arena.size());
  flags[id] = terminal ? kFlagTerminal : 0;
  visits[id] = 0;
  value_sum[id] = 0.0;
  in_flight[id] = 0;
  return id;
}

void Tree::resize_nodes(size_t n) {
  if (n > parent.capacity()) grow_nodes(std::max(n, 2 * parent.capacity()));
  for_each_node_array(*this, [n](auto& array) { array.resize(n); });
}

void Tree::grow_nodes(size_t capacity) {
  // Every array keeps its contents at its old offset while the block grows (in place, or moved
  // whole), then moves up to its new offset. Offsets only grow, so moving the last array first
  // never overwrites one that has not moved yet.
  const size_t old_capacity = parent.capacity();
  struct Move {
    size_t from, to, bytes;
  };
  Move moves[kNodeArrays];
  int count = 0;
  size_t from = 0, to = 0;
  for_each_node_array(*this, [&](auto& array) {
    moves[count++] = {from, to, array.size() * sizeof(array[0])};
    from += array.slice_bytes(old_capacity);
    to += array.slice_bytes(capacity);
  });
  node_memory_.grow(to);
  char* base = node_memory_.data();
  for (int i = count - 1; i >= 0; --i)
    if (moves[i].bytes > 0 && moves[i].to != moves[i].from)
      std::memmove(base + moves[i].to, base + moves[i].from, moves[i].bytes);
  count = 0;
  for_each_node_array(*this, [&](auto& array) { array.rebase(base + moves[count++].to, capacity); });
}

void Tree::reserve(int64_t n, int64_t text_bytes) {
  if (n < 0 || text_bytes < 0) throw std::invalid_argument("reserve: negative size");
  if (n > config_.max_nodes) n = config_.max_nodes;
  if (static_cast<size_t>(n) > parent.capacity()) grow_nodes(static_cast<size_t>(n));
  arena.reserve(static_cast<size_t>(text_bytes));
}

void Tree::rebuild_child_links() {
  const NodeId n = static_cast<NodeId>(size());
  std::fill(first_child.begin(), first_child.end(), kNoChild);
  std::fill(next_run.begin(), next_run.end(), kNoChild);
  std::fill(run_length.begin(), run_length.end(), uint16_t{0});
  std::vector<NodeId> tail(static_cast<size_t>(n), kNoChild);  // last run head of each node
  for (NodeId i = 1; i < n; ++i) tail[parent[i]] = link_child(parent[i], i, tail[parent[i]]);
}

int64_t Tree::memory_bytes() const {
  return static_cast<int64_t>(node_memory_.bytes() + arena.capacity());
}

}  // namespace mcts
