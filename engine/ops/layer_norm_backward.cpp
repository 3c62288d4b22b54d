#include "engine/ops/layer_norm_backward.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/thread_pool.h"

namespace bb::ops {

namespace {
constexpr int64_t kRowsPerChunk = 32;  // fixed, so parameter sums are independent of the thread count

// Same operations, same order as ops::layer_norm.
void row_stats(const float* xr, int64_t cols, float eps, float* mean_out, float* rstd_out) {
  double sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) sum += xr[i];
  const float mean = float(sum / double(cols));
  double sq = 0.0;
  for (int64_t i = 0; i < cols; ++i) {
    const float d = xr[i] - mean;
    sq += double(d) * d;
  }
  *mean_out = mean;
  *rstd_out = float(1.0 / std::sqrt(sq / double(cols) + double(eps)));
}
}  // namespace

void layer_norm_backward(const float* dy, const float* x, const float* gamma, float eps, int64_t rows, int64_t cols,
                         float* dx, float* dgamma, float* dbeta, bool accumulate_dx) {
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const bool params = dgamma || dbeta;
  std::vector<float> partial(params ? size_t(chunks * 2 * cols) : 0, 0.0f);
  parallel_for(0, chunks, [&](int64_t c) {
    std::vector<float> g(static_cast<size_t>(cols)), xhat(static_cast<size_t>(cols));
    float* pg = params ? partial.data() + c * 2 * cols : nullptr;
    const int64_t end = std::min(rows, (c + 1) * kRowsPerChunk);
    for (int64_t r = c * kRowsPerChunk; r < end; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      float mean, rstd;
      row_stats(xr, cols, eps, &mean, &rstd);
      double sum_g = 0.0, sum_gx = 0.0;
      for (int64_t i = 0; i < cols; ++i) {
        xhat[size_t(i)] = (xr[i] - mean) * rstd;
        g[size_t(i)] = dyr[i] * gamma[i];
        sum_g += g[size_t(i)];
        sum_gx += double(g[size_t(i)]) * xhat[size_t(i)];
      }
      if (pg)
        for (int64_t i = 0; i < cols; ++i) {
          pg[i] += dyr[i] * xhat[size_t(i)];
          pg[cols + i] += dyr[i];
        }
      const float mg = float(sum_g / double(cols)), mgx = float(sum_gx / double(cols));
      float* dxr = dx + r * cols;
      for (int64_t i = 0; i < cols; ++i) {
        const float v = rstd * (g[size_t(i)] - mg - xhat[size_t(i)] * mgx);
        dxr[i] = accumulate_dx ? dxr[i] + v : v;
      }
    }
  });
  if (!params) return;
  for (int64_t c = 0; c < chunks; ++c) {
    const float* pg = partial.data() + c * 2 * cols;
    for (int64_t i = 0; i < cols; ++i) {
      if (dgamma) dgamma[i] += pg[i];
      if (dbeta) dbeta[i] += pg[cols + i];
    }
  }
}

}  // namespace bb::ops
