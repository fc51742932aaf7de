// NodeMemory: the one allocation behind a tree's per-node arrays (see node_array.h).
//
// Small blocks come from malloc/realloc. On Linux a large block (>= 2 MiB) is its own anonymous
// mapping at a 2 MiB-aligned address, marked MADV_HUGEPAGE, and grows with mremap: in place when
// the address space after it is free, else by moving its pages (no copy) to a fresh 2 MiB-aligned
// range. Keeping the alignment across growth keeps the huge pages: realloc would move the block
// to any page boundary, and the kernel then splits the huge pages that no longer line up.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "node_array.h"

#if defined(__linux__)
#include <sys/mman.h>
#define MCTS_HUGE_PAGE_MAPPINGS 1
#endif

namespace mcts {

#if defined(MCTS_HUGE_PAGE_MAPPINGS)
namespace {
constexpr size_t kHugePage = size_t{2} << 20;  // x86-64 and arm64 Linux transparent huge pages

size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

// A fresh mapping of `bytes` (a multiple of kHugePage) at a kHugePage-aligned address, asking for
// transparent huge pages (a hint: ignored where THP is off); nullptr when out of memory.
char* map_aligned(size_t bytes) {
  void* p = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  char* start = static_cast<char*>(p);
  char* aligned = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(start), kHugePage));
  if (aligned > start) munmap(start, static_cast<size_t>(aligned - start));
  char* end = start + bytes + kHugePage;
  if (end > aligned + bytes) munmap(aligned + bytes, static_cast<size_t>(end - (aligned + bytes)));
  madvise(aligned, bytes, MADV_HUGEPAGE);
  return aligned;
}
}  // namespace
#endif

NodeMemory::NodeMemory(size_t bytes) {
  if (bytes == 0) return;
#if defined(MCTS_HUGE_PAGE_MAPPINGS)
  if (bytes >= kHugePage) {
    bytes = round_up(bytes, kHugePage);
    data_ = map_aligned(bytes);
    if (data_ == nullptr) throw std::bad_alloc();
    bytes_ = bytes;
    mapped_ = true;
    return;
  }
#endif
  data_ = static_cast<char*>(std::malloc(bytes));
  if (data_ == nullptr) throw std::bad_alloc();
  bytes_ = bytes;
}

void NodeMemory::grow(size_t bytes) {
  if (bytes <= bytes_) return;
#if defined(MCTS_HUGE_PAGE_MAPPINGS)
  if (bytes >= kHugePage) {
    bytes = round_up(bytes, kHugePage);
    if (!mapped_) {  // small to large: a fresh mapping (the small block is cheap to copy)
      NodeMemory large(bytes);
      if (bytes_ > 0) std::memcpy(large.data_, data_, bytes_);
      swap(large);
      return;
    }
    void* p = mremap(data_, bytes_, bytes, 0);  // in place, if the next range is free
    if (p == MAP_FAILED) {
      char* target = map_aligned(bytes);
      if (target == nullptr) throw std::bad_alloc();
      p = mremap(data_, bytes_, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, target);
      if (p == MAP_FAILED) {
        munmap(target, bytes);
        throw std::bad_alloc();  // the old block is still ours, unchanged
      }
    }
    data_ = static_cast<char*>(p);
    bytes_ = bytes;
    madvise(data_, bytes_, MADV_HUGEPAGE);
    return;
  }
#endif
  void* p = std::realloc(data_, bytes);
  if (p == nullptr) throw std::bad_alloc();  // the old block is still ours, unchanged
  data_ = static_cast<char*>(p);
  bytes_ = bytes;
}

NodeMemory::~NodeMemory() {
#if defined(MCTS_HUGE_PAGE_MAPPINGS)
  if (mapped_) {
    munmap(data_, bytes_);
    return;
  }
#endif
  std::free(data_);
}

}  // namespace mcts
