#include "engine/train/dropout.h"

#include <algorithm>

#include "engine/core/thread_pool.h"

namespace bb::train {

namespace {
uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t dropout_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t k = mix(seed);
  k = mix(k ^ a);
  k = mix(k ^ b);
  k = mix(k ^ c);
  return mix(k ^ d);
}

float dropout_uniform(uint64_t key, uint64_t index) {
  return float(mix(key ^ (index * 0xd1b54a32d192ed03ull)) >> 40) * (1.0f / 16777216.0f);
}

void dropout_forward(float* x, int64_t n, float p, uint64_t key, uint64_t offset) {
  if (p <= 0.0f) return;
  const float scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
  constexpr int64_t kChunk = 16384;
  parallel_for(0, (n + kChunk - 1) / kChunk, [&](int64_t c) {
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    for (int64_t i = b; i < e; ++i) x[i] = dropout_uniform(key, uint64_t(offset + i)) >= p ? x[i] * scale : 0.0f;
  });
}

}  // namespace bb::train
