// Storage of the per-node fields: one NodeArray<T> per field (tree.h), all of them slices of one
// NodeMemory block that the tree owns.
//
// Why one block: a search appends nodes to 13 field arrays at once. One block means one growth
// step for all of them, and on Linux a large block (>= 2 MiB) is mapped 2 MiB-aligned and offered
// to the kernel for transparent huge pages: touching fresh node memory then costs one page fault
// per 2 MiB instead of one per 4 KiB (faults and their zero-fill were ~15% of the native search
// loop). It grows without copying its pages (mremap, node_memory.cpp), after which
// Tree::grow_nodes shifts each slice up to its new offset.
// Why not std::vector: resize() would zero new elements that expand() overwrites anyway, and its
// growth check is an out-of-line call per array.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace mcts {

// One heap block, huge-page friendly when large; move-only.
class NodeMemory {
 public:
  NodeMemory() = default;
  explicit NodeMemory(size_t bytes);  // throws std::bad_alloc
  NodeMemory(NodeMemory&& other) noexcept { swap(other); }
  NodeMemory& operator=(NodeMemory&& other) noexcept {
    swap(other);
    return *this;
  }
  NodeMemory(const NodeMemory&) = delete;
  NodeMemory& operator=(const NodeMemory&) = delete;
  ~NodeMemory();

  char* data() const { return data_; }
  size_t bytes() const { return bytes_; }  // allocated, rounding included
  // Enlarges the block to at least `bytes`, keeping its contents (it may move). A large block
  // grows without copying (node_memory.cpp).
  void grow(size_t bytes);
  void swap(NodeMemory& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    std::swap(mapped_, other.mapped_);
  }

 private:
  char* data_ = nullptr;
  size_t bytes_ = 0;
  bool mapped_ = false;  // an mmap'ed large block (Linux), else malloc'ed
};

// One per-node field: a slice of the tree's NodeMemory. resize() within capacity is an inline
// store and leaves new elements uninitialised (expand() writes every field of a new node); the
// tree grows the capacity of all its arrays together (Tree::resize_nodes / Tree::reserve).
template <class T>
class NodeArray {
  static_assert(std::is_trivially_copyable<T>::value, "node fields are plain values (copied with memcpy)");

 public:
  NodeArray() = default;
  NodeArray(NodeArray&& other) noexcept { swap(other); }
  NodeArray& operator=(NodeArray&& other) noexcept {
    swap(other);
    return *this;
  }
  NodeArray(const NodeArray&) = delete;  // a view: copying it would alias the memory
  NodeArray& operator=(const NodeArray&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

  // Within capacity only; new elements are left uninitialised.
  void resize(size_t n) {
    if (n > capacity_) throw std::logic_error("NodeArray::resize beyond capacity: grow the tree's node memory first");
    size_ = n;
  }
  void assign(size_t n, T value) {
    resize(n);
    std::fill(data_, data_ + n, value);
  }

  // Bytes a slice of `capacity` elements takes (a multiple of 64, so every slice starts 64-byte
  // aligned relative to the block).
  static size_t slice_bytes(size_t capacity) { return (capacity * sizeof(T) + 63) & ~size_t{63}; }
  // Points the array at `memory`, which already holds its contents and has room for
  // `capacity` elements (Tree::grow_nodes moves the contents).
  void rebase(char* memory, size_t capacity) {
    data_ = reinterpret_cast<T*>(memory);
    capacity_ = capacity;
  }

 private:
  void swap(NodeArray& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace mcts
