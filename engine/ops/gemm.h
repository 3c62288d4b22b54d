#pragma once
// Matrix products. All matrices are row-major. OpenBLAS runs single-threaded inside the engine's
// own thread pool, so one set of threads owns the cores (two pools fighting over 2 cores is the
// classic slowdown on this class of machine).
#include <cstdint>

namespace bb::ops {

// C[M,N] = alpha * op(A) * op(B) + beta * C, on the calling thread only.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// y[M,N] = x[M,K] · W[N,K]ᵀ + bias[N] (PyTorch nn.Linear layout), parallel over the engine's pool.
// bias may be null. ldy defaults to N; ldx to K.
void linear(const float* x, int64_t M, int64_t K, const float* W, int64_t N, const float* bias, float* y,
            int64_t ldx = 0, int64_t ldy = 0);

// Forces OpenBLAS to one thread (called once by the engine before any product).
void init_blas_threads();

}  // namespace bb::ops
