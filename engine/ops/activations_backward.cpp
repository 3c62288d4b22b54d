#include "engine/ops/activations_backward.h"

#include <algorithm>
#include <cmath>

#include "engine/core/thread_pool.h"
#include "engine/ops/fast_math.h"

namespace bb::ops {
namespace {

constexpr int64_t kChunk = 16384;

template <typename F>
void apply_parallel(const float* x, const float* dy, float* dx, int64_t n, F f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(0, chunks, [&](int64_t c) {
    const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    f(x + begin, dy + begin, dx + begin, end - begin);
  });
}

}  // namespace

void gelu_new_backward(const float* x, const float* dy, float* dx, int64_t n) {
  apply_parallel(x, dy, dx, n, [](const float* px, const float* pdy, float* pdx, int64_t m) {
    constexpr float k = 0.7978845608028654f, c = 0.044715f;
    for (int64_t i = 0; i < m; ++i) {
      const float v = px[i];
      const float t = fast::tanh(k * (v + c * v * v * v));
      const float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * k * (1.0f + 3.0f * c * v * v);
      pdx[i] = d * pdy[i];
    }
  });
}

void gelu_exact_backward(const float* x, const float* dy, float* dx, int64_t n) {
  apply_parallel(x, dy, dx, n, [](const float* px, const float* pdy, float* pdx, int64_t m) {
    constexpr float inv_sqrt2 = 0.7071067811865476f, inv_sqrt_2pi = 0.3989422804014327f;
    for (int64_t i = 0; i < m; ++i) {
      const float v = px[i];
      const float d = 0.5f * (1.0f + std::erf(v * inv_sqrt2)) + v * inv_sqrt_2pi * std::exp(-0.5f * v * v);
      pdx[i] = d * pdy[i];
    }
  });
}

void relu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  apply_parallel(x, dy, dx, n, [](const float* px, const float* pdy, float* pdx, int64_t m) {
    for (int64_t i = 0; i < m; ++i) pdx[i] = px[i] > 0.0f ? pdy[i] : 0.0f;
  });
}

void tanh_backward(const float* x, const float* dy, float* dx, int64_t n) {
  apply_parallel(x, dy, dx, n, [](const float* px, const float* pdy, float* pdx, int64_t m) {
    for (int64_t i = 0; i < m; ++i) {
      const float t = fast::tanh(px[i]);
      pdx[i] = (1.0f - t * t) * pdy[i];
    }
  });
}

void activation_backward(Activation a, const float* x, const float* dy, float* dx, int64_t n) {
  switch (a) {
    case Activation::GeluNew:
    case Activation::GeluFast:
      gelu_new_backward(x, dy, dx, n);
      return;
    case Activation::Gelu:
      gelu_exact_backward(x, dy, dx, n);
      return;
    case Activation::Relu:
      relu_backward(x, dy, dx, n);
      return;
    case Activation::Tanh:
      tanh_backward(x, dy, dx, n);
      return;
  }
}

}  // namespace bb::ops
