#pragma once
// IEEE binary16 (F16) and bfloat16 (BF16) <-> binary32 conversions on raw bits, exact in the
// widening direction (subnormals, +-0, +-inf and NaN payloads preserved) and round-to-nearest-even
// in the narrowing direction, independent of the FPU mode and of compiler support for _Float16.
#include <cstdint>
#include <cstring>

namespace bb::io {

inline float bits_to_f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint32_t f32_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (man << 13));  // inf, NaN (payload kept)
  if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
  if (man == 0) return bits_to_f32(sign);  // +-0
  // Subnormal: man * 2^-24. Normalise so that the leading 1 moves to bit 10.
  const int shift = __builtin_clz(man) - 21;
  man = (man << shift) & 0x3FFu;
  return bits_to_f32(sign | (uint32_t(113 - shift) << 23) | (man << 13));
}

inline float bf16_to_f32(uint16_t b) { return bits_to_f32(uint32_t(b) << 16); }

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_to_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return uint16_t(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));  // NaN stays NaN
  if (ax >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // >= 65520 rounds to inf
  if (ax >= 0x38800000u) {                                  // normal result (>= 2^-14)
    const uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u) - 0x38000000u;  // round, rebias 127 -> 15
    return uint16_t(sign | (r >> 13));
  }
  const int e = int(ax >> 23);
  if (e < 102) return uint16_t(sign);  // below 2^-25: rounds to zero (2^-25 itself ties to even 0)
  // Subnormal result: round((1.m * 2^(e-127)) / 2^-24) = m24 >> (126 - e), ties to even.
  const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
  const int shift = 126 - e;  // 14..24
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal: correct
  return uint16_t(sign | q);
}

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_to_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((x >> 16) | 0x0040u);  // quiet NaN
  return uint16_t((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace bb::io
