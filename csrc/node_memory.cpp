// NodeMemory: the one allocation behind a tree's per-node arrays (see node_array.h).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "node_array.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mcts {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;  // x86-64 and arm64 Linux transparent huge pages
[[maybe_unused]] constexpr size_t kPage = 4096;

size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

// Asks for transparent huge pages on the whole pages of [p, p + bytes): a hint, ignored where
// THP is off or unsupported.
void advise_huge_pages(char* p, size_t bytes) {
#if defined(MADV_HUGEPAGE)
  char* start = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(p), kPage));
  char* end = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(p + bytes) & ~(kPage - 1));
  if (end > start) madvise(start, static_cast<size_t>(end - start), MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}
}  // namespace

NodeMemory::NodeMemory(size_t bytes) {
  if (bytes == 0) return;
  void* p = nullptr;
#if defined(_WIN32)
  p = std::malloc(bytes);
#else
  if (bytes >= kHugePage) {
    // Aligned and rounded to whole huge pages, so the kernel can back all of it with them.
    bytes = round_up(bytes, kHugePage);
    if (posix_memalign(&p, kHugePage, bytes) != 0) p = nullptr;
    if (p != nullptr) advise_huge_pages(static_cast<char*>(p), bytes);
  } else {
    p = std::malloc(bytes);
  }
#endif
  if (p == nullptr) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
  bytes_ = bytes;
}

void NodeMemory::grow(size_t bytes) {
  if (bytes <= bytes_) return;
  if (bytes >= kHugePage) bytes = round_up(bytes, kHugePage);
  if (bytes >= kHugePage && bytes_ < kHugePage) {
    // The first large block: a fresh aligned one (the old, small one is cheap to copy).
    NodeMemory large(bytes);
    if (bytes_ > 0) std::memcpy(large.data_, data_, bytes_);
    swap(large);
    return;
  }
  void* p = std::realloc(data_, bytes);
  if (p == nullptr) throw std::bad_alloc();  // the old block is still ours, unchanged
  data_ = static_cast<char*>(p);
  bytes_ = bytes;
  if (bytes >= kHugePage) advise_huge_pages(data_, bytes);
}

NodeMemory::~NodeMemory() { std::free(data_); }

}  // namespace mcts
