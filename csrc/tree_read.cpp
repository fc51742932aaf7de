// Read-only queries: paths, children, the best path, terminal paths, action text.
#include <algorithm>

#include "tree.h"

namespace mcts {

void Tree::path(NodeId id, std::vector<NodeId>& out) const {
  check_id(id, "path");
  out.clear();
  for (NodeId n = id; n != kNoParent; n = parent[n]) out.push_back(n);
  std::reverse(out.begin(), out.end());
}

void Tree::children(NodeId id, std::vector<NodeId>& out) const {
  check_id(id, "children");
  out.clear();
  for_each_child(id, [&](NodeId c) { out.push_back(c); });
}

int32_t Tree::num_children(NodeId id) const {
  check_id(id, "num_children");
  int32_t count = 0;
  for (NodeId head = first_child[id]; head != kNoChild; head = next_run[head]) count += run_length[head];
  return count;
}

void Tree::best_path(bool by_visits, std::vector<NodeId>& out) const {
  out.assign(1, kRoot);
  for (NodeId node = kRoot;;) {
    NodeId best = kNoChild;
    double best_key = 0.0;
    // Ascending ids, ">" so that ties go to the oldest child.
    for_each_child(node, [&](NodeId c) {
      if (visits[c] == 0) return;
      const double key = by_visits ? static_cast<double>(visits[c]) : value_sum[c] / visits[c];
      if (best == kNoChild || key > best_key) {
        best = c;
        best_key = key;
      }
    });
    if (best == kNoChild) return;
    out.push_back(best);
    node = best;
  }
}

void Tree::terminal_paths(std::vector<NodeId>& nodes, std::vector<int32_t>& offsets) const {
  nodes.clear();
  offsets.assign(1, 0);
  std::vector<NodeId> one;
  for (NodeId i = 0; i < static_cast<NodeId>(size()); ++i) {
    if (!(flags[i] & kFlagTerminal)) continue;
    path(i, one);
    nodes.insert(nodes.end(), one.begin(), one.end());
    offsets.push_back(static_cast<int32_t>(nodes.size()));
  }
}

std::string Tree::action(NodeId id) const {
  check_id(id, "action");
  return std::string(arena.data() + action_begin(id), arena.data() + action_end[id]);
}

std::string Tree::text(NodeId id) const {
  std::vector<NodeId> nodes;
  path(id, nodes);
  std::string out;
  for (NodeId n : nodes) out.append(arena.data() + action_begin(n), arena.data() + action_end[n]);
  return out;
}

}  // namespace mcts
