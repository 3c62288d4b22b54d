#include "engine/train/dense_attention_train.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"
#include "engine/ops/softmax_backward.h"

namespace bb::train {

namespace {

constexpr float kPenalty = std::numeric_limits<float>::lowest();  // HF decoder masks: finfo(float32).min

// Probabilities of head h: P [q_len, k_len].
void head_probabilities(const DenseAttentionTrainArgs& a, int h, float* P) {
  const int64_t Tq = a.q_len, Tk = a.k_len, d = a.head_dim;
  const float scale = 1.0f / std::sqrt(float(d));
  ops::gemm(false, true, Tq, Tk, d, scale, a.q + h * d, a.ldq, a.k + h * d, a.ldkv, 0.0f, P, Tk);
  for (int64_t i = 0; i < Tq; ++i) {
    float* s = P + i * Tk;
    for (int64_t j = 0; j < Tk; ++j)
      if ((a.key_mask && a.key_mask[j] == 0.0f) || (a.causal && j > i)) s[j] += kPenalty;
  }
  ops::softmax_rows(P, Tq, Tk, Tk);
}

}  // namespace

void dense_attention_train_forward(const DenseAttentionTrainArgs& a, float* ctx) {
  const int64_t d = a.head_dim;
  parallel_for(0, a.heads, [&](int64_t hh) {
    const int h = int(hh);
    std::vector<float> P(size_t(a.q_len * a.k_len));
    head_probabilities(a, h, P.data());
    ops::gemm(false, false, a.q_len, d, a.k_len, 1.0f, P.data(), a.k_len, a.v + h * d, a.ldkv, 0.0f, ctx + h * d,
              a.ldc);
  });
}

void dense_attention_train_backward(const DenseAttentionTrainArgs& a, const float* dctx, float* dq, float* dk,
                                    float* dv) {
  const int64_t Tq = a.q_len, Tk = a.k_len, d = a.head_dim;
  const float scale = 1.0f / std::sqrt(float(d));
  parallel_for(0, a.heads, [&](int64_t hh) {
    const int h = int(hh);
    std::vector<float> P(size_t(Tq * Tk)), dP(size_t(Tq * Tk));
    head_probabilities(a, h, P.data());
    // dP = dO·Vᵀ, dV = Pᵀ·dO
    ops::gemm(false, true, Tq, Tk, d, 1.0f, dctx + h * d, a.ldc, a.v + h * d, a.ldkv, 0.0f, dP.data(), Tk);
    ops::gemm(true, false, Tk, d, Tq, 1.0f, P.data(), Tk, dctx + h * d, a.ldc, 0.0f, dv + h * d, a.ldkv);
    ops::softmax_rows_backward(P.data(), dP.data(), dP.data(), Tq, Tk, Tk);
    // dQ = dS·K·s, dK = dSᵀ·Q·s
    ops::gemm(false, false, Tq, d, Tk, scale, dP.data(), Tk, a.k + h * d, a.ldkv, 0.0f, dq + h * d, a.ldq);
    ops::gemm(true, false, Tk, d, Tq, scale, dP.data(), Tk, a.q + h * d, a.ldq, 0.0f, dk + h * d, a.ldkv);
  });
}

}  // namespace bb::train
