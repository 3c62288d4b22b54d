#pragma once
// Backward of ops::linear (y[M,N] = x[M,K]·W[N,K]ᵀ + b[N], PyTorch nn.Linear layout):
//   dx[M,K] = dy·W        (overwritten, or added to when accumulate_dx)
//   dW[N,K] += dyᵀ·x      (parameter gradients always accumulate, as in llm.c)
//   db[N]   += Σ_rows dy
// Parallel over the engine's pool with a fixed partition of the outputs, so the result does not
// depend on which thread ran which part. Any of dx, dW, db may be null (not needed).
#include <cstdint>

namespace bb::ops {

void linear_backward(const float* dy, const float* x, const float* W, int64_t M, int64_t K, int64_t N, float* dx,
                     float* dW, float* db, bool accumulate_dx = false, int64_t ldx = 0, int64_t lddy = 0);

}  // namespace bb::ops
