#include "engine/ops/normalization.h"

#include <cmath>

#include "engine/core/thread_pool.h"
#include "engine/ops/fast_math.h"

namespace bb::ops {

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols,
                float eps) {
  parallel_for(0, rows, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double sum = 0.0;
    for (int64_t i = 0; i < cols; ++i) sum += xr[i];
    const float mean = float(sum / double(cols));
    double sq = 0.0;
    for (int64_t i = 0; i < cols; ++i) {
      const float d = xr[i] - mean;
      sq += double(d) * d;
    }
    const float inv = float(1.0 / std::sqrt(sq / double(cols) + double(eps)));
    for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
  }, 16);
}

void softmax_rows(float* x, int64_t rows, int64_t n, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    float mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = row[i] > mx ? row[i] : mx;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      row[i] = fast::exp(row[i] - mx);
      sum += row[i];
    }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) row[i] *= inv;
  }
}

}  // namespace bb::ops
