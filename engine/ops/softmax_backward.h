#pragma once
// Backward of ops::softmax_rows from the saved probabilities P:
//   dS = P ⊙ (dP − Σ_j dP_j P_j)   per row.  dS may alias dP.
#include <cstdint>

namespace bb::ops {

void softmax_rows_backward(const float* P, const float* dP, float* dS, int64_t rows, int64_t n, int64_t ld);

}  // namespace bb::ops
