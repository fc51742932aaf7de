// Saving and loading a Tree (+ TeacherWeights). See tree_io.h for the layout.
#include "tree_io.h"

#include <cmath>
#include <cstring>

#include "byte_io.h"

namespace mcts {

namespace {
constexpr char kMagic[8] = {'M', 'C', 'T', 'S', 'T', 'R', 'E', 'E'};
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;
constexpr uint32_t kHasWeights = 1;
// parent, teacher, prior, reward, action_end, flags, visits, value_sum
constexpr uint64_t kSavedBytesPerNode = 4 + 2 + 4 + 4 + 4 + 1 + 4 + 8;

[[noreturn]] void corrupt(const std::string& why) { throw FormatError("corrupt tree file: " + why); }

void write_weights(ByteWriter& w, const TeacherWeights& weights) {
  const WeightsConfig& c = weights.config();
  w.put<uint32_t>(kWeightsFormatVersion);
  w.put<uint32_t>(static_cast<uint32_t>(weights.size()));
  for (const auto& name : weights.names()) w.put_string(name);
  for (double x : {c.ema_rate, c.temperature, c.floor, c.epsilon, c.max_weight, c.stale_bonus, c.gamma})
    w.put<double>(x);
  w.put<int64_t>(c.max_stale_draws);
  w.put<double>(c.context_prior);
  w.put<int64_t>(c.max_contexts);
  w.put<uint32_t>(c.warmup ? 1u : 0u);
  w.put<uint64_t>(weights.rng.state());
  w.put_array(weights.scores);
  w.put_array(weights.since_pick);
  w.put_array(weights.picks);
  w.put<int64_t>(weights.draws);
  w.put<uint64_t>(weights.history.size() / weights.names().size());
  w.put_array(weights.history);
  w.put_array(weights.unseen);
  w.put<uint32_t>(static_cast<uint32_t>(weights.contexts.size()));
  for (const ContextWeights& context : weights.contexts) {
    w.put<int64_t>(context.evidence);
    w.put<int64_t>(context.draws);
    w.put_array(context.scores);
    w.put_array(context.since_pick);
    w.put_array(context.picks);
    w.put<uint64_t>(context.history_at.size());
    w.put_array(context.history);
    w.put_array(context.history_at);
    w.put_array(context.unseen);
  }
}

bool unseen_ok(const std::vector<double>& u) {
  for (double x : u)
    if (!(x >= 0.0 && x <= 1.0)) return false;
  return true;
}

void read_contexts(ByteReader& r, TeacherWeights& weights, uint32_t version) {
  const uint64_t n = static_cast<uint64_t>(weights.size());
  const uint64_t history_rows = weights.history.size() / n;
  const uint32_t count = r.get<uint32_t>("context count");
  if (count > static_cast<uint64_t>(weights.config().max_contexts) || count > r.left() / 16)
    corrupt("context count " + std::to_string(count));
  for (uint32_t id = 0; id < count; ++id) {
    ContextWeights& c = weights.context_at(static_cast<int32_t>(id));
    const std::string at = "context " + std::to_string(id) + ": ";
    c.evidence = r.get<int64_t>("context evidence");
    c.draws = r.get<int64_t>("context draws");
    r.get_array(c.scores, n, "context scores");
    r.get_array(c.since_pick, n, "context since_pick");
    r.get_array(c.picks, n, "context picks");
    const uint64_t rows = r.get<uint64_t>("context history rows");
    if (rows > r.left() / (8ull * (n + 1))) corrupt(at + "history rows " + std::to_string(rows));
    r.get_array(c.history, rows * n, "context history");
    r.get_array(c.history_at, rows, "context history_at");
    if (version >= 3) {
      r.get_array(c.unseen, n, "context unseen");
      if (!unseen_ok(c.unseen)) corrupt(at + "unseen not in [0, 1]");
    } else {
      c.unseen.assign(n, 0.0);  // written before warm-up: the scores are read as they are
    }
    if (c.evidence < 0 || c.draws < 0) corrupt(at + "negative counts");
    for (uint64_t i = 0; i < n; ++i)
      if (!std::isfinite(c.scores[i]) || c.since_pick[i] < 0 || c.picks[i] < 0) corrupt(at + "teacher " + std::to_string(i));
    for (double p : c.history)
      if (!std::isfinite(p)) corrupt(at + "non-finite history");
    for (int64_t row : c.history_at)
      if (row < 0 || static_cast<uint64_t>(row) >= history_rows) corrupt(at + "history row out of range");
  }
}

std::unique_ptr<TeacherWeights> read_weights(ByteReader& r) {
  const uint32_t version = r.get<uint32_t>("weights version");
  if (version < 1 || version > kWeightsFormatVersion)
    throw FormatError("teacher weights format version " + std::to_string(version) +
                      " is not supported (this build reads 1.." + std::to_string(kWeightsFormatVersion) + ")");
  const uint32_t n = r.get<uint32_t>("teacher count");
  if (n == 0 || n > r.left() / 4) corrupt("teacher count " + std::to_string(n));
  std::vector<std::string> names;
  for (uint32_t i = 0; i < n; ++i) names.push_back(r.get_string("teacher name"));
  WeightsConfig c;
  for (double* x : {&c.ema_rate, &c.temperature, &c.floor, &c.epsilon, &c.max_weight, &c.stale_bonus, &c.gamma})
    *x = r.get<double>("weights config");
  c.max_stale_draws = r.get<int64_t>("weights config");
  if (version >= 2) {
    c.context_prior = r.get<double>("weights config");
    c.max_contexts = r.get<int64_t>("weights config");
  }
  c.warmup = false;  // a file written before warm-up ran without it
  if (version >= 3) {
    const uint32_t warmup = r.get<uint32_t>("weights config");
    if (warmup > 1) corrupt("warmup flag " + std::to_string(warmup));
    c.warmup = warmup == 1;
  }
  const uint64_t rng_state = r.get<uint64_t>("rng state");
  std::unique_ptr<TeacherWeights> weights;
  try {
    weights = std::make_unique<TeacherWeights>(std::move(names), c, 0);
  } catch (const std::invalid_argument& e) {
    corrupt(std::string("weights: ") + e.what());
  }
  weights->rng.set_state(rng_state);
  r.get_array(weights->scores, n, "scores");
  r.get_array(weights->since_pick, n, "since_pick");
  r.get_array(weights->picks, n, "picks");
  weights->draws = r.get<int64_t>("draws");
  const uint64_t rows = r.get<uint64_t>("history rows");
  if (rows > r.left() / (8ull * n)) corrupt("history rows " + std::to_string(rows));
  r.get_array(weights->history, rows * n, "history");
  if (version >= 3) {
    r.get_array(weights->unseen, n, "unseen");
    if (!unseen_ok(weights->unseen)) corrupt("weights unseen not in [0, 1]");
  } else {
    weights->unseen.assign(n, 0.0);
  }
  for (uint32_t i = 0; i < n; ++i)
    if (!std::isfinite(weights->scores[i]) || weights->since_pick[i] < 0 || weights->picks[i] < 0)
      corrupt("weights state of teacher " + std::to_string(i));
  for (double p : weights->history)
    if (!std::isfinite(p)) corrupt("non-finite weights history");
  if (weights->draws < 0) corrupt("negative draw count");
  if (version >= 2) read_contexts(r, *weights, version);
  weights->scores_changed();  // the constructor cached probabilities of the zero scores
  return weights;
}

void check_tree_arrays(const Tree& t, uint64_t arena_bytes) {
  const int64_t n = t.size();
  if (t.parent[0] != kNoParent) corrupt("node 0 has a parent");
  for (int64_t i = 0; i < n; ++i) {
    const std::string at = "node " + std::to_string(i) + ": ";
    if (i > 0 && !(t.parent[i] >= 0 && t.parent[i] < i)) corrupt(at + "parent " + std::to_string(t.parent[i]));
    if (t.teacher[i] < kNoTeacher) corrupt(at + "teacher " + std::to_string(t.teacher[i]));
    if (!(std::isfinite(t.prior[i]) && t.prior[i] >= 0)) corrupt(at + "prior");
    if (!std::isfinite(t.reward[i])) corrupt(at + "reward");
    if (t.action_end[i] < (i == 0 ? 0u : t.action_end[i - 1])) corrupt(at + "action offsets go backwards");
    if (t.flags[i] & ~kPersistentFlags) corrupt(at + "unknown flag bits");
    if (t.visits[i] < 0 || !std::isfinite(t.value_sum[i])) corrupt(at + "statistics");
    if (i > 0 && (t.flags[t.parent[i]] & kFlagTerminal)) corrupt(at + "child of a terminal node");
    if (i > 0 && t.depth[t.parent[i]] >= kMaxDepth) corrupt(at + "too deep");
  }
  if (t.action_end[n - 1] != arena_bytes) corrupt("action offsets do not end at the arena size");
}
}  // namespace

std::string serialize_tree(const Tree& t, const TeacherWeights* weights) {
  if (t.pending_leaves() != 0)
    throw std::invalid_argument("save: " + std::to_string(t.pending_leaves()) +
                                " selections are pending; backup() or cancel() them before saving");
  ByteWriter w;
  w.put_bytes(kMagic, sizeof(kMagic));
  w.put<uint32_t>(kTreeFormatVersion);
  w.put<uint32_t>(weights ? kHasWeights : 0);
  w.put<uint64_t>(0);  // payload size, patched below
  const TreeConfig& c = t.config();
  w.put<uint8_t>(static_cast<uint8_t>(c.rule));
  for (double x : {c.c_explore, c.fpu_reduction, c.virtual_loss, c.widen_c, c.widen_alpha, c.discount})
    w.put<double>(x);
  w.put<int64_t>(c.max_nodes);
  w.put<double>(t.q_min);
  w.put<double>(t.q_max);
  w.put<uint64_t>(static_cast<uint64_t>(t.size()));
  w.put<uint64_t>(t.arena.size());
  w.put_array(t.parent);
  w.put_array(t.teacher);
  w.put_array(t.prior);
  w.put_array(t.reward);
  w.put_array(t.action_end);
  w.put_array(t.flags);
  w.put_array(t.visits);
  w.put_array(t.value_sum);
  w.put_array(t.arena);
  if (weights) write_weights(w, *weights);
  std::string& out = w.bytes();
  const uint64_t payload = out.size() - kHeaderBytes;
  std::memcpy(&out[16], &payload, sizeof(payload));
  const uint64_t checksum = fnv1a64(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(&checksum), sizeof(checksum));
  return std::move(out);
}

LoadedTree deserialize_tree(const char* data, size_t size) {
  if (size < kHeaderBytes + 8)
    throw FormatError("truncated tree file: " + std::to_string(size) + " bytes is shorter than the header");
  if (std::memcmp(data, kMagic, sizeof(kMagic)) != 0)
    throw FormatError("not an mcts-llm tree file (the first 8 bytes are not 'MCTSTREE')");
  ByteReader header(data + 8, kHeaderBytes - 8);
  const uint32_t version = header.get<uint32_t>("version");
  if (version != kTreeFormatVersion)
    throw FormatError("tree file format version " + std::to_string(version) +
                      " is not supported (this build reads version " + std::to_string(kTreeFormatVersion) + ")");
  const uint32_t file_flags = header.get<uint32_t>("flags");
  const uint64_t payload = header.get<uint64_t>("payload size");
  if (payload != size - kHeaderBytes - 8)
    throw FormatError("truncated tree file: the header promises " + std::to_string(payload) +
                      " payload bytes but the file holds " + std::to_string(size - kHeaderBytes - 8));
  uint64_t stored;
  std::memcpy(&stored, data + size - 8, 8);
  if (stored != fnv1a64(data, size - 8)) throw FormatError("corrupt tree file: checksum mismatch");
  if (file_flags & ~kHasWeights) corrupt("unknown header flags");

  ByteReader r(data + kHeaderBytes, payload);
  TreeConfig c;
  const uint8_t rule = r.get<uint8_t>("rule");
  if (rule > 1) corrupt("selection rule " + std::to_string(rule));
  c.rule = static_cast<Rule>(rule);
  for (double* x : {&c.c_explore, &c.fpu_reduction, &c.virtual_loss, &c.widen_c, &c.widen_alpha, &c.discount})
    *x = r.get<double>("tree config");
  c.max_nodes = r.get<int64_t>("max_nodes");
  LoadedTree loaded;
  try {
    loaded.tree = std::make_unique<Tree>(c);
  } catch (const std::invalid_argument& e) {
    corrupt(std::string("tree config: ") + e.what());
  }
  Tree& t = *loaded.tree;
  t.q_min = r.get<double>("q_min");
  t.q_max = r.get<double>("q_max");
  if (std::isnan(t.q_min) || std::isnan(t.q_max)) corrupt("q range is NaN");
  const uint64_t n = r.get<uint64_t>("node count");
  const uint64_t arena_bytes = r.get<uint64_t>("arena size");
  if (n < 1 || n > static_cast<uint64_t>(c.max_nodes)) corrupt("node count " + std::to_string(n));
  if (n > r.left() / kSavedBytesPerNode || arena_bytes > r.left()) corrupt("sizes exceed the file");
  t.reserve(static_cast<int64_t>(n), static_cast<int64_t>(arena_bytes));  // room for every node array
  r.get_array(t.parent, n, "parent");
  r.get_array(t.teacher, n, "teacher");
  r.get_array(t.prior, n, "prior");
  r.get_array(t.reward, n, "reward");
  r.get_array(t.action_end, n, "action_end");
  r.get_array(t.flags, n, "flags");
  r.get_array(t.visits, n, "visits");
  r.get_array(t.value_sum, n, "value_sum");
  r.get_array(t.arena, arena_bytes, "arena");
  t.depth.assign(n, 0);
  for (uint64_t i = 1; i < n; ++i)
    if (t.parent[i] >= 0 && static_cast<uint64_t>(t.parent[i]) < i)
      t.depth[i] = static_cast<uint16_t>(t.depth[t.parent[i]] + 1);
  check_tree_arrays(t, arena_bytes);
  t.first_child.assign(n, kNoChild);
  t.next_run.assign(n, kNoChild);
  t.run_length.assign(n, 0);
  t.in_flight.assign(n, 0);
  t.rebuild_child_links();
  if (file_flags & kHasWeights) loaded.weights = read_weights(r);
  if (r.left() != 0) corrupt(std::to_string(r.left()) + " unexpected bytes after the last section");
  return loaded;
}

}  // namespace mcts
