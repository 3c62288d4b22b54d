#pragma once
// Backward of ops::layer_norm. The statistics are recomputed from the saved input x with the
// forward's exact arithmetic, so nothing but the LayerNorm input has to be kept for backward.
//   xhat = (x - mean) * rstd,  y = xhat * gamma + beta
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma
//   dgamma += Σ_rows dy * xhat,  dbeta += Σ_rows dy
// dx may alias dy. dx is overwritten, or added to when accumulate_dx. dgamma / dbeta may be null.
#include <cstdint>

namespace bb::ops {

void layer_norm_backward(const float* dy, const float* x, const float* gamma, float eps, int64_t rows, int64_t cols,
                         float* dx, float* dgamma, float* dbeta, bool accumulate_dx = false);

}  // namespace bb::ops
