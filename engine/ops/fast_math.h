#pragma once
// Branch-free exp and tanh that the compiler vectorises (AVX2/AVX-512) inside plain loops.
// exp: Cephes single-precision polynomial, <= 2 ulp on the clamped range; tanh built on it with
// absolute error below 1e-7. std::exp/std::tanh are scalar libm calls and would dominate GELU
// and softmax at 4096 tokens.
#include <bit>
#include <cmath>
#include <cstdint>

namespace bb::fast {

inline float exp(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;
  x = x < -87.3365447504f ? -87.3365447504f : x;
  float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  x = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float z = x * x;
  float y = 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
  int32_t e = (int32_t(fx) + 127) << 23;
  return y * std::bit_cast<float>(e);
}

inline float tanh(float x) {
  // tanh(x) = sign(x) * (1 - 2 / (exp(2|x|) + 1)); saturates cleanly for large |x|.
  float a = x < 0 ? -x : x;
  a = a > 10.0f ? 10.0f : a;
  float t = 1.0f - 2.0f / (bb::fast::exp(2.0f * a) + 1.0f);
  return x < 0 ? -t : t;
}

}  // namespace bb::fast
