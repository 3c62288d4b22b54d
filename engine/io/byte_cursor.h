#pragma once
// Bounds-checked little-endian reading of an untrusted byte range. Every read that would run past
// the end throws bb::Error "<label>: truncated: <what> needs N bytes at offset O, only M remain",
// so parsers never index outside their input and always say where it ended.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace bb::io {

class ByteCursor {
 public:
  ByteCursor(std::span<const uint8_t> bytes, std::string label) : bytes_(bytes), label_(std::move(label)) {}

  size_t pos() const { return pos_; }
  size_t size() const { return bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ >= bytes_.size(); }
  std::span<const uint8_t> rest() const { return bytes_.subspan(pos_); }
  const std::string& label() const { return label_; }

  void seek(size_t pos, const char* what) {
    if (pos > bytes_.size())
      fail(std::string(what) + " at offset " + std::to_string(pos) + " is outside the " + std::to_string(bytes_.size()) +
           "-byte input");
    pos_ = pos;
  }
  std::span<const uint8_t> take(size_t n, const char* what) {
    need(n, what);
    std::span<const uint8_t> s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view take_string(size_t n, const char* what) {
    std::span<const uint8_t> s = take(n, what);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  void skip(size_t n, const char* what) { take(n, what); }

  uint8_t u8(const char* what) { return take(1, what)[0]; }
  uint16_t u16(const char* what) { return read_le<uint16_t>(what); }
  uint32_t u32(const char* what) { return read_le<uint32_t>(what); }
  uint64_t u64(const char* what) { return read_le<uint64_t>(what); }
  int32_t i32(const char* what) { return int32_t(read_le<uint32_t>(what)); }
  int64_t i64(const char* what) { return int64_t(read_le<uint64_t>(what)); }

  // Protocol-buffer / LevelDB base-128 varint, at most 10 bytes (64 bits).
  uint64_t varint64(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = u8(what);
      if (shift == 63 && b > 1) fail(std::string(what) + ": varint overflows 64 bits");
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(std::string(what) + ": varint longer than 10 bytes");
  }
  uint32_t varint32(const char* what) {
    const uint64_t v = varint64(what);
    if (v > 0xFFFFFFFFu) fail(std::string(what) + ": varint " + std::to_string(v) + " exceeds 32 bits");
    return uint32_t(v);
  }

  [[noreturn]] void fail(const std::string& message) const { throw Error(label_ + ": " + message); }

 private:
  void need(size_t n, const char* what) const {
    if (n > remaining())
      fail("truncated: " + std::string(what) + " needs " + std::to_string(n) + " bytes at offset " +
           std::to_string(pos_) + ", only " + std::to_string(remaining()) + " remain");
  }
  template <typename T>
  T read_le(const char* what) {
    std::span<const uint8_t> s = take(sizeof(T), what);
    T v;
    std::memcpy(&v, s.data(), sizeof(T));
    return v;  // the engine targets little-endian hosts (static_assert in safetensors.cpp)
  }

  std::span<const uint8_t> bytes_;
  std::string label_;
  size_t pos_ = 0;
};

}  // namespace bb::io
