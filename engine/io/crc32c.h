#pragma once
// CRC-32C (Castagnoli), as used by LevelDB tables and TensorFlow tensor bundles, plus the
// "masked" form those formats store (checkpoint-formats.md §3.3).
#include <cstddef>
#include <cstdint>

namespace bb::io {

// crc32c of `n` bytes, continuing from `crc` (pass 0 to start). crc32c("123456789") = 0xE3069283.
uint32_t crc32c_extend(uint32_t crc, const uint8_t* data, size_t n);
inline uint32_t crc32c(const uint8_t* data, size_t n) { return crc32c_extend(0, data, n); }

constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  const uint32_t rot = masked - kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace bb::io
