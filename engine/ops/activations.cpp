#include "engine/ops/activations.h"

#include <algorithm>
#include <cmath>

#include "engine/core/thread_pool.h"
#include "engine/ops/fast_math.h"

namespace bb::ops {
namespace {

constexpr int64_t kChunk = 16384;

template <typename F>
void apply_parallel(float* x, int64_t n, F f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(0, chunks, [&](int64_t c) {
    const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    f(x + begin, end - begin);
  });
}

}  // namespace

void gelu_new(float* x, int64_t n) {
  apply_parallel(x, n, [](float* p, int64_t m) {
    constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
    for (int64_t i = 0; i < m; ++i) {
      float v = p[i];
      p[i] = 0.5f * v * (1.0f + fast::tanh(k * (v + 0.044715f * v * v * v)));
    }
  });
}

void gelu_fast(float* x, int64_t n) {
  apply_parallel(x, n, [](float* p, int64_t m) {
    for (int64_t i = 0; i < m; ++i) {
      float v = p[i];
      p[i] = 0.5f * v * (1.0f + fast::tanh(v * 0.7978845608f * (1.0f + 0.044715f * v * v)));
    }
  });
}

void gelu_exact(float* x, int64_t n) {
  apply_parallel(x, n, [](float* p, int64_t m) {
    for (int64_t i = 0; i < m; ++i) p[i] = 0.5f * p[i] * (1.0f + std::erf(p[i] * 0.7071067811865476f));
  });
}

void relu(float* x, int64_t n) {
  apply_parallel(x, n, [](float* p, int64_t m) {
    for (int64_t i = 0; i < m; ++i) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
  });
}

void tanh_inplace(float* x, int64_t n) {
  apply_parallel(x, n, [](float* p, int64_t m) {
    for (int64_t i = 0; i < m; ++i) p[i] = fast::tanh(p[i]);
  });
}

void activation(Activation a, float* x, int64_t n) {
  switch (a) {
    case Activation::GeluNew: gelu_new(x, n); return;
    case Activation::GeluFast: gelu_fast(x, n); return;
    case Activation::Gelu: gelu_exact(x, n); return;
    case Activation::Relu: relu(x, n); return;
    case Activation::Tanh: tanh_inplace(x, n); return;
  }
}

}  // namespace bb::ops
