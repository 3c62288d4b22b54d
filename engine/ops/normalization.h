#pragma once
#include <cstdint>

namespace bb::ops {

// y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance, as
// torch.nn.LayerNorm). x and y may alias. rows x cols, contiguous.
void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols,
                float eps);

// In-place softmax over each row of length n (rows x n, row stride ld).
void softmax_rows(float* x, int64_t rows, int64_t n, int64_t ld);

}  // namespace bb::ops
