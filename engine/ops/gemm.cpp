#include "engine/ops/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "engine/core/thread_pool.h"

namespace bb::ops {

void init_blas_threads() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  init_blas_threads();
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(M), int(N),
              int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

void linear(const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias, float* y,
            int64_t ldx, int64_t ldy) {
  if (ldx == 0) ldx = K;
  if (ldy == 0) ldy = N;
  // Split the larger output dimension into one panel per thread (x rows, or W rows when M is small).
  const int threads = num_threads();
  const bool split_rows = M >= N || M >= 64 * threads;
  const int64_t extent = split_rows ? M : N;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, extent / 16));
  parallel_for(0, parts, [&](int64_t p) {
    const int64_t begin = extent * p / parts, end = extent * (p + 1) / parts;
    if (begin == end) return;
    if (split_rows) {
      float* yp = y + begin * ldy;
      if (bias)
        for (int64_t i = begin; i < end; ++i) std::copy(bias, bias + N, y + i * ldy);
      gemm(false, true, end - begin, N, K, 1.0f, x + begin * ldx, ldx, W, K, bias ? 1.0f : 0.0f, yp, ldy);
    } else {
      if (bias)
        for (int64_t i = 0; i < M; ++i) std::copy(bias + begin, bias + end, y + i * ldy + begin);
      gemm(false, true, M, end - begin, K, 1.0f, x, ldx, W + begin * K, K, bias ? 1.0f : 0.0f, y + begin, ldy);
    }
  });
}

}  // namespace bb::ops
