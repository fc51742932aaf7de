// NodeArray<T>: the storage of one per-node field of the tree (tree.h keeps one per field).
//
// A growable array of plain values, like std::vector minus two costs on the hot path: resize()
// leaves new elements uninitialised (expand() writes every field of a new node, so zeroing them
// first is wasted work), and growing within capacity is an inline compare and store. expand()
// grows all ~14 field arrays once per call, which through std::vector was a third of its time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace mcts {

template <class T>
class NodeArray {
  static_assert(std::is_trivially_copyable<T>::value, "node fields are plain values (copied with memcpy)");

 public:
  NodeArray() = default;
  NodeArray(const NodeArray& other) { *this = other; }
  NodeArray(NodeArray&& other) noexcept { swap(other); }
  NodeArray& operator=(const NodeArray& other) {
    if (this != &other) {
      resize(other.size_);
      if (size_) std::memcpy(data_, other.data_, size_ * sizeof(T));
    }
    return *this;
  }
  NodeArray& operator=(NodeArray&& other) noexcept {
    swap(other);
    return *this;
  }
  ~NodeArray() { std::free(data_); }

  void swap(NodeArray& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

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

  void reserve(size_t n) {
    if (n > capacity_) reallocate(n);
  }
  // New elements (beyond the old size) are left uninitialised.
  void resize(size_t n) {
    if (n > capacity_) reallocate(std::max(n, 2 * capacity_));
    size_ = n;
  }
  void assign(size_t n, T value) {
    resize(n);
    std::fill(data_, data_ + n, value);
  }

 private:
  void reallocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    void* p = std::realloc(data_, n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    capacity_ = n;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace mcts
