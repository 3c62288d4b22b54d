#include "engine/ops/linear_backward.h"

#include <algorithm>

#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"

namespace bb::ops {

namespace {
// Panels of at least `min_size` rows/columns, at most one per thread (a partition of [0, n)).
int64_t panel_count(int64_t n, int64_t min_size) {
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), n / std::max<int64_t>(1, min_size)));
}
}  // namespace

void linear_backward(const float* dy, const float* x, const float* W, int64_t M, int64_t K, int64_t N, float* dx,
                     float* dW, float* db, bool accumulate_dx, int64_t ldx, int64_t lddy) {
  if (ldx == 0) ldx = K;
  if (lddy == 0) lddy = N;
  if (M <= 0) return;
  if (dx) {
    // dx rows are independent: split M.
    const int64_t parts = panel_count(M, 16);
    parallel_for(0, parts, [&](int64_t p) {
      const int64_t b = M * p / parts, e = M * (p + 1) / parts;
      if (b < e)
        gemm(false, false, e - b, K, N, 1.0f, dy + b * lddy, lddy, W, K, accumulate_dx ? 1.0f : 0.0f, dx + b * ldx,
             ldx);
    });
  }
  if (dW || db) {
    // Each panel of output features owns its rows of dW and entries of db; the sum over M runs
    // inside one gemm / one loop, so the result is the same for any thread count.
    const int64_t parts = panel_count(N, 16);
    parallel_for(0, parts, [&](int64_t p) {
      const int64_t b = N * p / parts, e = N * (p + 1) / parts;
      if (b == e) return;
      if (dW) gemm(true, false, e - b, K, M, 1.0f, dy + b, lddy, x, ldx, 1.0f, dW + b * K, K);
      if (db)
        for (int64_t i = 0; i < M; ++i) {
          const float* row = dy + i * lddy;
          for (int64_t j = b; j < e; ++j) db[j] += row[j];
        }
    });
  }
}

}  // namespace bb::ops
