#include "engine/attention/dense_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb::attn {

namespace {
constexpr int64_t kQueryChunk = 64;
}

void dense_attention(const DenseAttentionArgs& a) {
  const int64_t Lq = a.query_len, Lk = a.key_len, d = a.head_dim;
  const float scale = a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(float(d));
  const int64_t chunks = (Lq + kQueryChunk - 1) / kQueryChunk;

  std::vector<std::vector<uint8_t>> multiplicity;
  if (a.simulated_pattern) {
    multiplicity.resize(size_t(a.heads));
    for (int h = 0; h < a.heads; ++h) multiplicity[size_t(h)] = a.simulated_pattern->multiplicity(h);
  }
  if (a.capture) {
    a.capture->blocked = false;
    a.capture->heads = a.heads;
    a.capture->query_len = Lq;
    a.capture->key_len = Lk;
    a.capture->dense.assign(size_t(a.heads * Lq * Lk), 0.0f);
  }

  parallel_for(0, int64_t(a.heads) * chunks, [&](int64_t task) {
    const int h = int(task / chunks);
    const int64_t q0 = (task % chunks) * kQueryChunk, rows = std::min(kQueryChunk, Lq - q0);
    thread_local std::vector<float> scores;
    scores.resize(size_t(rows * Lk));
    float* S = scores.data();
    ops::gemm(false, true, rows, Lk, d, scale, a.q + q0 * a.ldq + h * d, a.ldq, a.k + h * d, a.ldkv, 0.0f, S, Lk);

    for (int64_t i = 0; i < rows; ++i) {
      float* s = S + i * Lk;
      if (a.key_mask)
        for (int64_t j = 0; j < Lk; ++j)
          if (a.key_mask[j] == 0.0f) s[j] += a.mask_penalty;
      if (a.causal) {
        const int64_t last = a.causal_offset + q0 + i;
        for (int64_t j = last + 1; j < Lk; ++j) s[j] += a.mask_penalty;
      }
      if (a.simulated_pattern) {
        const int b = a.simulated_pattern->block(), nb = a.simulated_pattern->num_blocks();
        const uint8_t* m = multiplicity[size_t(h)].data() + size_t((q0 + i) / b) * nb;
        for (int64_t j = 0; j < Lk; ++j) {
          const uint8_t count = m[j / b];
          s[j] += count == 0 ? -10000.0f : (count == 1 ? 0.0f : std::log(float(count)));
        }
      }
    }
    ops::softmax_rows(S, rows, Lk, Lk);
    if (a.capture)
      std::copy(S, S + rows * Lk, a.capture->dense.begin() + (h * Lq + q0) * Lk);
    float* out = a.ctx + q0 * a.ldc + h * d;
    ops::gemm(false, false, rows, d, Lk, 1.0f, S, Lk, a.v + h * d, a.ldkv, 0.0f, out, a.ldc);
    if (a.query_mask)
      for (int64_t i = 0; i < rows; ++i)
        if (a.query_mask[q0 + i] == 0.0f) std::fill(out + i * a.ldc, out + i * a.ldc + d, 0.0f);
  });
}

}  // namespace bb::attn
