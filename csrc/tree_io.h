// The tree file: a versioned binary snapshot of a Tree and, optionally, its TeacherWeights.
//
// Layout (little-endian):
//   "MCTSTREE"            8 bytes magic
//   uint32 version        kTreeFormatVersion
//   uint32 flags          bit 0: a TeacherWeights section follows the tree
//   uint64 payload_bytes  bytes between this header and the checksum
//   payload:
//     tree config (rule, 6 doubles, max_nodes), q_min, q_max, node count n, arena bytes A
//     per-node arrays in this order, n values each: parent i32, teacher i16, prior f32,
//       reward f32, action_end u32, flags u8, visits i32, value_sum f64
//       (depth and the child lists are rebuilt from parent; in_flight is 0 in a saved tree)
//     arena, A bytes of UTF-8 action text
//     [weights: version u32, names, config, rng state, scores, since_pick, picks, draws, history,
//      and from version 2 on: context_prior f64 and max_contexts i64 after the config, and after
//      the history the context count C u32 and per context: evidence i64, draws i64, scores f64[N],
//      since_pick i64[N], picks i64[N], history rows R u64, history f64[R*N], history_at i64[R]]
//      and from version 3 on: warmup u32 (0 or 1) after max_contexts, unseen f64[N] after the
//      history, and per context unseen f64[N] after its history_at]
//   Version 1 weights (no contexts) still load, with the default context settings; versions 1 and 2
//   load with warmup off (as they ran).
//   uint64 checksum       FNV-1a over every byte before it
#pragma once

#include <memory>
#include <string>

#include "teacher_weights.h"
#include "tree.h"

namespace mcts {

constexpr uint32_t kTreeFormatVersion = 1;
constexpr uint32_t kWeightsFormatVersion = 3;  // reads 1, 2 and 3

// Throws std::invalid_argument while selections are pending (their virtual loss is not state).
std::string serialize_tree(const Tree& tree, const TeacherWeights* weights);

struct LoadedTree {
  std::unique_ptr<Tree> tree;
  std::unique_ptr<TeacherWeights> weights;  // null when the file has none
};

// Throws FormatError on any truncated, corrupt or unsupported input.
LoadedTree deserialize_tree(const char* data, size_t size);

}  // namespace mcts
