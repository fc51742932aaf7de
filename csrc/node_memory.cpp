// NodeMemory: the one allocation behind a tree's per-node arrays (see node_array.h).
#include <cstdlib>
#include <new>

#include "node_array.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mcts {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;  // x86-64 and arm64 Linux transparent huge pages
}  // namespace

NodeMemory::NodeMemory(size_t bytes) {
  if (bytes == 0) return;
  void* p = nullptr;
#if defined(_WIN32)
  p = std::malloc(bytes);
#else
  if (bytes >= kHugePage) {
    // Aligned and rounded to whole huge pages, so the kernel can back all of it with them.
    bytes = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    if (posix_memalign(&p, kHugePage, bytes) != 0) p = nullptr;
#if defined(MADV_HUGEPAGE)
    if (p != nullptr) madvise(p, bytes, MADV_HUGEPAGE);  // a hint: ignored where THP is off
#endif
  } else {
    p = std::malloc(bytes);
  }
#endif
  if (p == nullptr) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
  bytes_ = bytes;
}

NodeMemory::~NodeMemory() { std::free(data_); }

}  // namespace mcts
