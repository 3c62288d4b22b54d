#include "engine/train/attention_train.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"
#include "engine/ops/softmax_backward.h"
#include "engine/train/block_sparse_attention_backward.h"
#include "engine/train/dropout.h"

namespace bb::train {

namespace {

constexpr int64_t kQueryChunk = 64;  // = dense_attention's chunk, so recomputed tiles are bit-identical

bool simulated(const AttentionTrainArgs& a) { return a.type == attn::AttentionType::SimulatedSparse; }

float penalty(const AttentionTrainArgs& a) {
  return simulated(a) ? -10000.0f : std::numeric_limits<float>::lowest();  // HF extended attention mask
}

attn::DenseAttentionArgs dense_args(const AttentionTrainArgs& a, float* ctx) {
  attn::DenseAttentionArgs d;
  d.q = a.q;
  d.k = a.k;
  d.v = a.v;
  d.ldq = d.ldkv = d.ldc = a.ld;
  d.query_len = d.key_len = a.len;
  d.heads = a.heads;
  d.head_dim = a.head_dim;
  d.key_mask = a.mask;
  d.mask_penalty = penalty(a);
  if (simulated(a)) {
    d.simulated_pattern = a.pattern;
    d.query_mask = a.mask;
  }
  d.ctx = ctx;
  return d;
}

// Scores of query rows [q0, q0+rows) for head h, exactly as dense_attention computes them, then softmax.
void dense_probabilities(const AttentionTrainArgs& a, const std::vector<uint8_t>* multiplicity, int h, int64_t q0,
                         int64_t rows, float* S) {
  const int64_t L = a.len, d = a.head_dim;
  const float scale = 1.0f / std::sqrt(float(d));
  ops::gemm(false, true, rows, L, d, scale, a.q + q0 * a.ld + h * d, a.ld, a.k + h * d, a.ld, 0.0f, S, L);
  const float pen = penalty(a);
  for (int64_t i = 0; i < rows; ++i) {
    float* s = S + i * L;
    if (a.mask)
      for (int64_t j = 0; j < L; ++j)
        if (a.mask[j] == 0.0f) s[j] += pen;
    if (multiplicity) {
      const int b = a.pattern->block(), nb = a.pattern->num_blocks();
      const uint8_t* m = multiplicity->data() + size_t((q0 + i) / b) * nb;
      for (int64_t j = 0; j < L; ++j) {
        const uint8_t count = m[j / b];
        s[j] += count == 0 ? -10000.0f : (count == 1 ? 0.0f : std::log(float(count)));
      }
    }
  }
  ops::softmax_rows(S, rows, L, L);
}

// Dropout of the probabilities of rows [q0, q0+rows) of head h: element (h, i, j) uses stream index (h*L+i)*L+j.
void drop_probabilities(const AttentionTrainArgs& a, int h, int64_t q0, int64_t rows, float* P) {
  const int64_t L = a.len;
  const float scale = 1.0f / (1.0f - a.dropout);
  for (int64_t i = 0; i < rows; ++i) {
    const uint64_t base = (uint64_t(h) * uint64_t(L) + uint64_t(q0 + i)) * uint64_t(L);
    float* p = P + i * L;
    for (int64_t j = 0; j < L; ++j)
      p[j] = dropout_uniform(a.dropout_key, base + uint64_t(j)) >= a.dropout ? p[j] * scale : 0.0f;
  }
}

void dense_forward_with_dropout(const AttentionTrainArgs& a, float* ctx) {
  const int64_t L = a.len, d = a.head_dim, chunks = (L + kQueryChunk - 1) / kQueryChunk;
  parallel_for(0, int64_t(a.heads) * chunks, [&](int64_t task) {
    const int h = int(task / chunks);
    const int64_t q0 = (task % chunks) * kQueryChunk, rows = std::min(kQueryChunk, L - q0);
    thread_local std::vector<float> scores;
    scores.resize(size_t(rows * L));
    dense_probabilities(a, nullptr, h, q0, rows, scores.data());
    drop_probabilities(a, h, q0, rows, scores.data());
    ops::gemm(false, false, rows, d, L, 1.0f, scores.data(), L, a.v + h * d, a.ld, 0.0f, ctx + q0 * a.ld + h * d, a.ld);
  });
}

void dense_backward(const AttentionTrainArgs& a, const float* dctx, float* dq, float* dk, float* dv) {
  const int64_t L = a.len, d = a.head_dim;
  const float scale = 1.0f / std::sqrt(float(d));
  const bool drop = a.dropout > 0.0f && a.type == attn::AttentionType::OriginalFull;
  const float keep_scale = drop ? 1.0f / (1.0f - a.dropout) : 1.0f;
  parallel_for(0, a.heads, [&](int64_t hh) {
    const int h = int(hh);
    std::vector<uint8_t> multiplicity;
    if (simulated(a)) multiplicity = a.pattern->multiplicity(h);
    for (int64_t i = 0; i < L; ++i) {
      std::fill(dk + i * a.ld + h * d, dk + i * a.ld + (h + 1) * d, 0.0f);
      std::fill(dv + i * a.ld + h * d, dv + i * a.ld + (h + 1) * d, 0.0f);
    }
    std::vector<float> P, Pd, dP, dO;
    for (int64_t q0 = 0; q0 < L; q0 += kQueryChunk) {
      const int64_t rows = std::min(kQueryChunk, L - q0);
      P.resize(size_t(rows * L));
      dP.resize(size_t(rows * L));
      dO.resize(size_t(rows * d));
      dense_probabilities(a, simulated(a) ? &multiplicity : nullptr, h, q0, rows, P.data());
      const float* Pused = P.data();
      if (drop) {
        Pd = P;
        drop_probabilities(a, h, q0, rows, Pd.data());
        Pused = Pd.data();
      }
      for (int64_t i = 0; i < rows; ++i) {
        const bool zeroed = simulated(a) && a.mask && a.mask[q0 + i] == 0.0f;
        const float* src = dctx + (q0 + i) * a.ld + h * d;
        for (int64_t t = 0; t < d; ++t) dO[size_t(i * d + t)] = zeroed ? 0.0f : src[t];
      }
      // dP = dO·Vᵀ, dV += Pᵀ·dO (P as used, after dropout)
      ops::gemm(false, true, rows, L, d, 1.0f, dO.data(), d, a.v + h * d, a.ld, 0.0f, dP.data(), L);
      ops::gemm(true, false, L, d, rows, 1.0f, Pused, L, dO.data(), d, 1.0f, dv + h * d, a.ld);
      if (drop)  // through the dropout: the same mask and scale (Pd = P * mask * scale)
        for (int64_t i = 0; i < rows * L; ++i)
          dP[size_t(i)] = Pd[size_t(i)] != 0.0f ? dP[size_t(i)] * keep_scale : 0.0f;
      ops::softmax_rows_backward(P.data(), dP.data(), dP.data(), rows, L, L);
      // dQ = dS·K·s, dK += dSᵀ·Q·s
      ops::gemm(false, false, rows, d, L, scale, dP.data(), L, a.k + h * d, a.ld, 0.0f, dq + q0 * a.ld + h * d, a.ld);
      ops::gemm(true, false, L, d, rows, scale, dP.data(), L, a.q + q0 * a.ld + h * d, a.ld, 1.0f, dk + h * d, a.ld);
    }
  });
}

}  // namespace

void attention_train_forward(const AttentionTrainArgs& a, float* ctx) {
  if (a.type == attn::AttentionType::BlockSparse) {
    if (!a.pattern) throw Error("block_sparse attention needs a block pattern");
    attn::BlockSparseArgs s;
    s.q = a.q;
    s.k = a.k;
    s.v = a.v;
    s.ldq = s.ldkv = s.ldc = a.ld;
    s.heads = a.heads;
    s.head_dim = a.head_dim;
    s.pattern = a.pattern;
    s.mask = a.mask;
    s.ctx = ctx;
    attn::block_sparse_attention(s);
    return;
  }
  if (simulated(a) && !a.pattern) throw Error("simulated_sparse attention needs a block pattern");
  if (a.type == attn::AttentionType::OriginalFull && a.dropout > 0.0f) {
    dense_forward_with_dropout(a, ctx);
    return;
  }
  attn::dense_attention(dense_args(a, ctx));
}

void attention_backward(const AttentionTrainArgs& a, const float* dctx, float* dq, float* dk, float* dv) {
  if (a.type == attn::AttentionType::BlockSparse) {
    block_sparse_attention_backward(a, dctx, dq, dk, dv);
    return;
  }
  dense_backward(a, dctx, dq, dk, dv);
}

}  // namespace bb::train
