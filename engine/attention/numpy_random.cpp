#include "engine/attention/numpy_random.h"

#include <cstddef>
#include <utility>

namespace bb::attn {

NumpyRandom::NumpyRandom(uint32_t seed) {
  mt_[0] = seed;
  for (int i = 1; i < 624; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + uint32_t(i);
  index_ = 624;
}

void NumpyRandom::twist() {
  constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrix = 0x9908b0dfu;
  for (int i = 0; i < 624; ++i) {
    uint32_t y = (mt_[i] & kUpper) | (mt_[(i + 1) % 624] & kLower);
    mt_[i] = mt_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
  }
  index_ = 0;
}

uint32_t NumpyRandom::next_u32() {
  if (index_ >= 624) twist();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t NumpyRandom::interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t value;
  if (max <= 0xffffffffull) {
    while ((value = (next_u32() & mask)) > max) {
    }
  } else {
    while ((value = (((uint64_t(next_u32()) << 32) | next_u32()) & mask)) > max) {
    }
  }
  return value;
}

std::vector<int32_t> NumpyRandom::permutation(std::vector<int32_t> values) {
  for (std::size_t i = values.size(); i-- > 1;) {
    std::size_t j = std::size_t(interval(i));
    std::swap(values[i], values[j]);
  }
  return values;
}

}  // namespace bb::attn
