// Little-endian byte writer/reader for the tree file. The reader checks every length against
// what is left, so a truncated or corrupt file raises FormatError instead of reading past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "tree.h"

namespace mcts {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tree file format is little-endian; add byte swapping for this platform"
#endif

// FNV-1a, 64 bit: detects truncation and flipped bits (not tampering).
inline uint64_t fnv1a64(const char* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<uint8_t>(data[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

class ByteWriter {
 public:
  template <class T>
  void put(T value) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    const char* p = reinterpret_cast<const char*>(&value);
    out_.append(p, sizeof(T));
  }
  template <class Array>  // std::vector or NodeArray
  void put_array(const Array& values) {
    using T = typename std::remove_pointer<decltype(values.data())>::type;
    if (!values.empty()) out_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void put_bytes(const char* data, size_t n) { out_.append(data, n); }
  void put_string(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : data_(data), left_(size), size_(size) {}
  size_t left() const { return left_; }

  template <class T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  // Reads count values; checks the byte count before allocating.
  template <class Array>  // std::vector or NodeArray
  void get_array(Array& out, uint64_t count, const char* what) {
    using T = typename std::remove_reference<decltype(out[0])>::type;
    if (count > left_ / sizeof(T)) fail_truncated(what, count * sizeof(T));
    out.resize(count);
    if (count) std::memcpy(out.data(), take(count * sizeof(T), what), count * sizeof(T));
  }
  const char* take(uint64_t n, const char* what) {
    if (n > left_) fail_truncated(what, n);
    const char* p = data_ + (size_ - left_);
    left_ -= n;
    return p;
  }
  std::string get_string(const char* what) {
    const uint32_t n = get<uint32_t>(what);
    const char* p = take(n, what);
    return std::string(p, n);
  }

 private:
  [[noreturn]] void fail_truncated(const char* what, uint64_t need) const {
    throw FormatError(std::string("truncated file: ") + what + " needs " + std::to_string(need) +
                      " bytes at offset " + std::to_string(size_ - left_) + " but only " +
                      std::to_string(left_) + " remain");
  }
  const char* data_;
  size_t left_;
  size_t size_;
};

}  // namespace mcts
