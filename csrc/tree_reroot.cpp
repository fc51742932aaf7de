// Subtree release: keep the subtree of a new root, compacted in place so memory is reused.
#include <cstring>

#include "tree.h"

namespace mcts {

void Tree::reroot(NodeId new_root, std::vector<NodeId>& old_to_new) {
  check_id(new_root, "reroot");
  if (in_flight[kRoot] != 0)
    throw std::invalid_argument("reroot: " + std::to_string(in_flight[kRoot]) +
                                " selections are pending; backup() or cancel() them first");
  const NodeId n = static_cast<NodeId>(size());
  old_to_new.assign(n, kNoParent);
  // Ids are creation order, so a node is in the subtree iff its parent is (parent < id):
  // one ascending pass finds the subtree and assigns new ids in the same relative order.
  NodeId next = 0;
  old_to_new[new_root] = next++;
  for (NodeId i = new_root + 1; i < n; ++i)
    if (old_to_new[parent[i]] != kNoParent) old_to_new[i] = next++;

  const uint16_t depth_shift = depth[new_root];
  uint32_t write = 0;  // arena write position; never passes the read position
  uint32_t old_begin = action_begin(new_root);
  for (NodeId old_id = new_root; old_id < n; ++old_id) {
    // Every field of old_id moves down to id <= old_id, and ids below old_id were all read
    // already, so nothing unread is overwritten.
    const uint32_t begin = old_begin;
    old_begin = action_end[old_id];
    const NodeId id = old_to_new[old_id];
    if (id == kNoParent) continue;
    const uint32_t length = id == kRoot ? 0 : action_end[old_id] - begin;
    if (length > 0) std::memmove(arena.data() + write, arena.data() + begin, length);
    write += length;
    parent[id] = id == kRoot ? kNoParent : old_to_new[parent[old_id]];
    depth[id] = static_cast<uint16_t>(depth[old_id] - depth_shift);
    teacher[id] = id == kRoot ? static_cast<int16_t>(kNoTeacher) : teacher[old_id];
    prior[id] = prior[old_id];
    reward[id] = reward[old_id];
    action_end[id] = write;
    flags[id] = flags[old_id];
    visits[id] = visits[old_id];
    value_sum[id] = value_sum[old_id];
    in_flight[id] = 0;
  }
  resize_nodes(static_cast<size_t>(next));
  arena.resize(write);
  rebuild_child_links();
}

}  // namespace mcts
