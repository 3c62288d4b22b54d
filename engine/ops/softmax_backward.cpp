#include "engine/ops/softmax_backward.h"

namespace bb::ops {

void softmax_rows_backward(const float* P, const float* dP, float* dS, int64_t rows, int64_t n, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = P + r * ld;
    const float* dp = dP + r * ld;
    float* ds = dS + r * ld;
    float dot = 0.0f;
    for (int64_t i = 0; i < n; ++i) dot += p[i] * dp[i];
    for (int64_t i = 0; i < n; ++i) ds[i] = p[i] * (dp[i] - dot);
  }
}

}  // namespace bb::ops
