// The search tree: struct-of-arrays node storage, PUCT/UCB1 selection with virtual loss and
// progressive widening, batched expansion and backup, subtree release.
//
// Node ids are creation order: node i was created before node i+1, so parent[i] < i for every
// node but the root (id 0). Every per-node statistic lives in its own array indexed by id
// (DeepMind mctx lays out its tree the same way); the arrays are slices of one memory block that
// grows for all of them at once and is backed by huge pages when large (node_array.h). The action
// text of all nodes lives in one byte arena: node i's text is arena[action_begin(i),
// action_end[i]), appended in creation order, so a node needs one uint32 offset instead of a
// pointer + length.
//
// Children are stored as runs of consecutive ids (lc0 keeps a node's edges in one array the same
// way). One expand() call gives a parent its children as consecutive ids, so a parent usually has
// one run; progressive widening adds later runs. first_child[p] is the head (lowest id) of p's
// first run; a head h covers ids [h, h + run_length[h]) and next_run[h] is the head of p's next
// (younger) run. Runs are listed oldest first, so walking them visits the children in ascending
// id order, and selection reads each run's statistics as contiguous slices of the arrays (no
// pointer chasing from one child to the next; the scoring loop vectorises).
//
// Virtual loss follows lc0's n_in_flight protocol: select() adds 1 to in_flight on every node of
// each selected path and marks the leaf pending; backup() or cancel() removes exactly that again.
// The class is not thread-safe; the bindings serialise calls with a mutex.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "node_array.h"

namespace mcts {

using NodeId = int32_t;
constexpr NodeId kRoot = 0;            // the root exists from construction
constexpr NodeId kNoParent = -1;       // parent of the root
constexpr NodeId kNoChild = -1;        // no first child / no next run
constexpr int32_t kMaxRunLength = UINT16_MAX;  // a longer run of children is split in several
constexpr int32_t kNoTeacher = -1;     // teacher of the root (no one proposed it)
constexpr int32_t kMaxTeacher = INT16_MAX;
constexpr int32_t kMaxDepth = UINT16_MAX;
constexpr int32_t kUnlimitedRoom = -1;  // Selection::room when progressive widening is off

enum class Rule : uint8_t { kPuct = 0, kUcb1 = 1 };

// Why select() stopped at a leaf; the caller handles each kind differently.
enum class LeafKind : uint8_t {
  kExpand = 0,    // never expanded: ask teachers for its first children
  kWiden = 1,     // expanded, but progressive widening allows more children now
  kTerminal = 2,  // terminal: evaluate it, never expand it
};

// Bits of Tree::flags.
enum NodeFlag : uint8_t {
  kFlagTerminal = 1 << 0,   // set at creation (or mark_terminal); never expanded
  kFlagExpanded = 1 << 1,   // expand() has given it children (or mark_saturated)
  kFlagSaturated = 1 << 2,  // no more children can be had: progressive widening stops here
  kFlagPending = 1 << 3,    // selected as a leaf and not yet backed up or cancelled
  kFlagBlocked = 1 << 4,    // scratch bit of one select() call: nothing selectable below
};
constexpr uint8_t kPersistentFlags = kFlagTerminal | kFlagExpanded | kFlagSaturated;

// Errors. The bindings map them to Python: NodeIdError -> IndexError, TreeFullError ->
// mcts.TreeFullError, FormatError -> mcts.TreeFormatError, std::invalid_argument -> ValueError.
struct NodeIdError : std::out_of_range {
  using std::out_of_range::out_of_range;
};
struct TreeFullError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TreeConfig {
  Rule rule = Rule::kPuct;
  double c_explore = 1.25;      // exploration constant (PUCT c, or UCB1 c)
  double fpu_reduction = 0.25;  // unvisited child's Q = normalised parent Q - fpu_reduction
  double virtual_loss = 1.0;    // each in-flight visit counts as this many visits of the worst value
  double widen_c = 1.0;         // max children = ceil(widen_c * max(N, 1)^widen_alpha); inf = off
  double widen_alpha = 0.5;
  double discount = 1.0;        // G_parent = r_parent + discount * G_child
  int64_t max_nodes = INT32_MAX;  // node budget; expand() beyond it raises TreeFullError

  void validate() const;  // throws std::invalid_argument naming the bad value
  bool widening() const { return widen_c != std::numeric_limits<double>::infinity(); }  // off at +inf
};

// The result of one select() call: k' <= k distinct leaves and their paths (flattened).
struct Selection {
  std::vector<NodeId> leaves;
  std::vector<uint8_t> kinds;          // LeafKind per leaf
  std::vector<int32_t> room;           // children that may be added now (kUnlimitedRoom: any)
  std::vector<NodeId> path_nodes;      // root..leaf of leaf i is path_nodes[offsets[i]:offsets[i+1]]
  std::vector<int32_t> path_offsets;   // size leaves.size() + 1

  void clear();
};

class Tree {
 public:
  explicit Tree(const TreeConfig& config);

  const TreeConfig& config() const { return config_; }
  int64_t size() const { return static_cast<int64_t>(parent.size()); }
  void check_id(int64_t id, const char* what) const {  // throws NodeIdError
    if (id < 0 || id >= size()) throw_bad_id(id, what);
  }

  // --- tree_select.cpp ---
  // Picks up to k distinct leaves, adding virtual loss along each path. Fewer when the tree has
  // fewer selectable leaves (all pending, saturated or blocked).
  void select(int64_t k, Selection& out);

  // --- tree_update.cpp ---
  // Adds one child per row under parents[i]. Checks every row before changing anything.
  // Returns the id of the first new child; the others follow in order.
  NodeId expand(const int32_t* parents, const double* priors, const int32_t* teachers,
                const double* rewards, const uint8_t* terminal, const std::string& texts,
                const uint32_t* text_lengths, int64_t n);
  void mark_saturated(const int32_t* nodes, int64_t n);
  void mark_terminal(const int32_t* nodes, int64_t n);
  // Backs values[i] up from leaves[i] (a pending leaf) to the root and removes its virtual loss.
  void backup(const int32_t* leaves, const double* values, int64_t n);
  // Removes the virtual loss of pending leaves without changing any statistic.
  void cancel(const int32_t* leaves, int64_t n);
  // Moves each pending selection one step down, from leaves[i] to children[i] (a child of it that
  // is not pending), so that backup() from the child also counts the visit and the value there:
  // the search expands a leaf, evaluates one new child, and backs up through that child.
  void descend(const int32_t* leaves, const int32_t* children, int64_t n);

  // --- tree_read.cpp ---
  // (q - min) / (max - min) over all returns seen; 0.5 before there is any spread.
  double normalized_q(double q) const { return q_max > q_min ? (q - q_min) / (q_max - q_min) : 0.5; }
  // Widens [q_min, q_max] to cover [low, high]: a task that knows its return range (0..1 for a
  // verifier) normalises Q against it from the first backup on (MuZero's MinMaxStats with known
  // bounds), instead of scoring every child 0.5 until returns differ.
  void include_q_range(double low, double high);
  void path(NodeId id, std::vector<NodeId>& out) const;       // root..id
  void children(NodeId id, std::vector<NodeId>& out) const;   // ascending ids
  int32_t num_children(NodeId id) const;
  void best_path(bool by_visits, std::vector<NodeId>& out) const;
  void terminal_paths(std::vector<NodeId>& nodes, std::vector<int32_t>& offsets) const;
  uint32_t action_begin(NodeId id) const { return id == 0 ? 0u : action_end[id - 1]; }
  std::string action(NodeId id) const;
  std::string text(NodeId id) const;  // actions root..id concatenated
  int64_t pending_leaves() const { return in_flight[kRoot]; }
  int64_t memory_bytes() const;
  // Calls f(c) for every child c of id in ascending ids, run by run (no bounds check).
  template <class F>
  void for_each_child(NodeId id, F&& f) const {
    for (NodeId head = first_child[id]; head != kNoChild; head = next_run[head])
      for (NodeId c = head, end = head + run_length[head]; c < end; ++c) f(c);
  }

  // --- tree_reroot.cpp ---
  // Keeps only the subtree of new_root, renumbered in creation order with new_root as 0.
  // old_to_new[i] is node i's new id or kNoParent when released. Memory is reused in place.
  void reroot(NodeId new_root, std::vector<NodeId>& old_to_new);

  // Rebuilds first_child/next_run/run_length from parent (after reroot and load).
  void rebuild_child_links();
  // Reserves storage for n nodes and text_bytes of action text (avoids regrowth when the
  // budget is known).
  void reserve(int64_t n, int64_t text_bytes);
  // Appends one node; the caller has validated everything.
  NodeId push_node(NodeId parent_id, float prior, int32_t teacher, float reward, bool terminal,
                   const char* text, uint32_t text_length);

  // ---------------------------------------------------------------------------------------
  // Node storage, one array per field (all slices of node_memory_, see node_array.h), grouped by
  // how the field changes.
  // ---------------------------------------------------------------------------------------

  // Topology: set when a node is created; rewritten only by reroot() and load.
  NodeArray<NodeId> parent;       // kNoParent for the root; otherwise parent[i] < i
  NodeArray<NodeId> first_child;  // head of the first (oldest) child run, kNoChild when none
  NodeArray<NodeId> next_run;     // run head: head of the parent's next run, else kNoChild
  NodeArray<uint16_t> run_length; // run head: children in its run (>= 1); 0 inside a run

  // Creation data: written once by expand(); reroot() only clears the new root's.
  NodeArray<uint16_t> depth;      // depth[root] = 0, depth[i] = depth[parent[i]] + 1
  NodeArray<int16_t> teacher;     // id of the teacher that proposed it; kNoTeacher at the root
  NodeArray<float> prior;         // P(s, a) >= 0, finite (PUCT's prior)
  NodeArray<float> reward;        // immediate reward r of reaching this node, finite
  NodeArray<uint32_t> action_end; // end of this node's text in arena; non-decreasing in id

  // Flags: terminal at creation, expanded/saturated by updates, pending by select/backup.
  NodeArray<uint8_t> flags;       // NodeFlag bits; kFlagBlocked is clear between calls

  // Backed-up statistics: changed by backup() only.
  NodeArray<int32_t> visits;      // N >= 0; N[parent] >= sum of N[children]
  NodeArray<double> value_sum;    // sum of the returns G backed up through this node

  // Virtual loss: changed by select() (+1 along a path) and backup()/cancel() (-1).
  NodeArray<int32_t> in_flight;   // pending selections through this node, >= 0; 0 when idle

  std::vector<char> arena;        // action texts, UTF-8, node after node

  // Range of every return G backed up so far, for Q normalisation (MuZero's MinMaxStats).
  double q_min = std::numeric_limits<double>::infinity();
  double q_max = -std::numeric_limits<double>::infinity();

 private:
  TreeConfig config_;
  NodeMemory node_memory_;  // the block behind every NodeArray above
  // select() scratch, kept to avoid allocating per call.
  std::vector<NodeId> scratch_path_;
  std::vector<NodeId> scratch_blocked_;

  struct ChildChoice {
    NodeId best = kNoChild;
    int32_t count = 0;
  };
  [[noreturn]] void throw_bad_id(int64_t id, const char* what) const;
  ChildChoice best_child(NodeId node, bool any_blocked) const;
  // Links the newest node `id` as the youngest child of p: extends p's last run when id follows
  // it directly, else starts a new run. `tail` is p's last run head or kNoChild (then it is
  // looked up). Returns p's last run head afterwards.
  NodeId link_child(NodeId p, NodeId id, NodeId tail);
  // Resizes every per-node array (not the arena) to n nodes, growing node_memory_ if needed.
  void resize_nodes(size_t n);
  // Moves every per-node array into a new node_memory_ with room for `capacity` nodes.
  void grow_nodes(size_t capacity);
  // Calls f on every per-node array of t (every field above but the arena); t may be const.
  static constexpr int kNodeArrays = 13;
  template <class T, class F>
  static void for_each_node_array(T& t, F&& f) {
    f(t.parent), f(t.first_child), f(t.next_run), f(t.run_length), f(t.depth), f(t.teacher);
    f(t.prior), f(t.reward), f(t.action_end), f(t.flags), f(t.visits), f(t.value_sum), f(t.in_flight);
  }
  int32_t widen_room(NodeId node, int32_t num_children) const;
  void check_pending_leaves(const int32_t* leaves, int64_t n, const char* op);
};

// Bytes of per-node storage (all the arrays above, not the arena). lc0's node is 64 bytes.
constexpr size_t kBytesPerNode = sizeof(NodeId) * 3 + sizeof(uint16_t) * 2 + sizeof(int16_t) +
                                 sizeof(float) * 2 + sizeof(uint32_t) + sizeof(uint8_t) +
                                 sizeof(int32_t) + sizeof(double) + sizeof(int32_t);
static_assert(kBytesPerNode <= 48, "per-node statistics must stay within 48 bytes");

inline NodeId Tree::link_child(NodeId p, NodeId id, NodeId tail) {
  if (first_child[p] == kNoChild) {
    first_child[p] = id;
    run_length[id] = 1;
    return id;
  }
  if (tail == kNoChild)
    for (tail = first_child[p]; next_run[tail] != kNoChild;) tail = next_run[tail];
  if (tail + run_length[tail] == id && run_length[tail] < kMaxRunLength) {
    ++run_length[tail];  // id sits right after p's last run: the run grows (the common case)
    return tail;
  }
  next_run[tail] = id;
  run_length[id] = 1;
  return id;
}

}  // namespace mcts
