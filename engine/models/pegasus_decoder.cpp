#include "engine/models/pegasus_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "engine/attention/dense_attention.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/models/pegasus_encoder.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb {

namespace {

constexpr float kMinPenalty = std::numeric_limits<float>::lowest();  // HF decoder masks: finfo(float32).min

bool all_ones(const float* m, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (m[i] == 0.0f) return false;
  return true;
}

// [rows, heads*d] (heads side by side) -> [heads, rows, d], so one head's keys are one contiguous slab.
Tensor to_head_major(const Tensor& x, int64_t S, int64_t L, int heads, int64_t d) {
  Tensor out = Tensor::uninitialized({S, heads, L, d});
  parallel_for(0, S * heads, [&](int64_t sh) {
    const int64_t s = sh / heads, h = sh % heads;
    for (int64_t i = 0; i < L; ++i)
      std::memcpy(out.data() + ((s * heads + h) * L + i) * d, x.data() + (s * L + i) * heads * d + h * d,
                  sizeof(float) * size_t(d));
  });
  return out;
}

// Cross-attention of `rows` query rows (heads side by side, stride ldq) over one encoder row whose
// keys/values are head-major [heads, Ls, d]: per head one [rows, Ls] score tile, so the beams of a
// document read each key once. Masked keys get finfo.min (HF). `probs` ([heads, rows, Ls]) receives
// the probabilities when non-null.
void cross_attention(const float* q, int64_t rows, int64_t ldq, const float* k, const float* v, const float* key_mask,
                     int heads, int64_t d, int64_t Ls, float* ctx, int64_t ldc, float* probs) {
  const float scale = 1.0f / std::sqrt(float(d));
  parallel_for(0, heads, [&](int64_t h) {
    thread_local std::vector<float> scores;
    scores.resize(size_t(rows * Ls));
    float* S = scores.data();
    ops::gemm(false, true, rows, Ls, d, scale, q + h * d, ldq, k + h * Ls * d, d, 0.0f, S, Ls);
    if (key_mask)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < Ls; ++j)
          if (key_mask[j] == 0.0f) S[r * Ls + j] += kMinPenalty;
    ops::softmax_rows(S, rows, Ls, Ls);
    if (probs) std::copy(S, S + rows * Ls, probs + h * rows * Ls);
    ops::gemm(false, false, rows, d, Ls, 1.0f, S, Ls, v + h * Ls * d, d, 0.0f, ctx + h * d, ldc);
  });
}

}  // namespace

PegasusCache start_pegasus_cache(const PegasusWeights& w, const ModelConfig& c, const Tensor& encoder_hidden,
                                 const Tensor& source_mask, std::vector<int32_t> row_source, int64_t capacity) {
  const int64_t D = c.hidden_size;
  if (encoder_hidden.rank() != 3 || encoder_hidden.dim(2) != D)
    throw Error("encoder output has shape " + shape_to_string(encoder_hidden.shape()) + ", expected [batch, len, " +
                std::to_string(D) + "]");
  const int64_t S = encoder_hidden.dim(0), Ls = encoder_hidden.dim(1);
  if (source_mask.shape() != Shape{S, Ls})
    throw Error("encoder mask has shape " + shape_to_string(source_mask.shape()) + ", expected " +
                shape_to_string({S, Ls}));
  if (row_source.empty()) throw Error("a decoder needs at least one row");
  for (int32_t s : row_source)
    if (s < 0 || s >= S) throw Error("decoder row reads encoder row " + std::to_string(s) + " of " + std::to_string(S));
  if (capacity < 1) throw Error("decoder capacity must be at least 1 token");
  if (capacity > c.max_position_embeddings)
    throw Error("decoder length " + std::to_string(capacity) + " exceeds max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));

  PegasusCache cache;
  cache.rows = int64_t(row_source.size());
  cache.capacity = capacity;
  cache.row_source = std::move(row_source);
  cache.sources = S;
  cache.source_len = Ls;
  cache.source_mask = source_mask.clone();
  cache.self_mask = Tensor({cache.rows, capacity});
  prof::Scope scope("decoder cross K/V");
  const int heads = c.decoder_attention_heads;
  Tensor tmp = Tensor::uninitialized({S * Ls, D});
  for (const PegasusDecoderLayerWeights& lw : w.decoder) {
    cache.self_k.push_back(Tensor::uninitialized({cache.rows, capacity, D}));
    cache.self_v.push_back(Tensor::uninitialized({cache.rows, capacity, D}));
    ops::linear(encoder_hidden.data(), S * Ls, D, lw.ck_w, D, lw.ck_b, tmp.data());
    cache.cross_k.push_back(to_head_major(tmp, S, Ls, heads, D / heads));
    ops::linear(encoder_hidden.data(), S * Ls, D, lw.cv_w, D, lw.cv_b, tmp.data());
    cache.cross_v.push_back(to_head_major(tmp, S, Ls, heads, D / heads));
  }
  return cache;
}

void reorder_pegasus_cache(PegasusCache& cache, const std::vector<int32_t>& src) {
  const int64_t N = cache.rows;
  if (int64_t(src.size()) != N) throw Error("reorder: " + std::to_string(src.size()) + " rows for a cache of " + std::to_string(N));
  std::vector<int32_t> changed;
  for (int64_t i = 0; i < N; ++i) {
    if (src[size_t(i)] < 0 || src[size_t(i)] >= N) throw Error("reorder: row " + std::to_string(src[size_t(i)]) + " does not exist");
    if (src[size_t(i)] != i) changed.push_back(int32_t(i));
  }
  if (changed.empty()) return;
  // Snapshot every source row a changed row reads, then write the destinations.
  std::map<int32_t, int64_t> slot;
  for (int32_t i : changed) slot.emplace(src[size_t(i)], int64_t(slot.size()));
  const int64_t len = cache.length, cap = cache.capacity, D = cache.self_k.empty() ? 0 : cache.self_k[0].dim(2);
  const size_t row_bytes = size_t(len * D) * sizeof(float);
  std::vector<float> scratch(size_t(int64_t(slot.size()) * len * D));
  auto permute = [&](Tensor& t) {
    for (const auto& [s, k] : slot) std::memcpy(scratch.data() + k * len * D, t.data() + s * cap * D, row_bytes);
    for (int32_t i : changed)
      std::memcpy(t.data() + i * cap * D, scratch.data() + slot[src[size_t(i)]] * len * D, row_bytes);
  };
  for (Tensor& t : cache.self_k) permute(t);
  for (Tensor& t : cache.self_v) permute(t);
  Tensor mask = cache.self_mask.clone();
  std::vector<int32_t> sources = cache.row_source;
  for (int32_t i : changed) {
    std::copy_n(mask.data() + src[size_t(i)] * cap, cap, cache.self_mask.data() + i * cap);
    cache.row_source[size_t(i)] = sources[size_t(src[size_t(i)])];
  }
}

Tensor pegasus_decode(const PegasusWeights& w, const ModelConfig& c, PegasusCache& cache, const int64_t* ids,
                      int64_t T, const float* token_mask, bool all_positions, CrossAttentionCapture* capture) {
  const int64_t N = cache.rows, M = N * T, D = c.hidden_size, F = c.decoder_ffn_dim, V = c.vocab_size;
  const int64_t past = cache.length, cap = cache.capacity, Ls = cache.source_len;
  const int heads = c.decoder_attention_heads;
  const int head_dim = int(D / heads);
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  if (T < 1) throw Error("decoder step needs at least one token per row");
  if (past + T > cap)
    throw Error("decoder cache holds " + std::to_string(cap) + " tokens; cannot append " + std::to_string(T) +
                " to " + std::to_string(past));
  for (int64_t i = 0; i < M; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw Error("decoder_input_ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                  " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");

  Tensor y = Tensor::uninitialized({M, D});
  parallel_for(0, M, [&](int64_t r) {
    const int64_t t = past + r % T;
    const float* e = w.shared + ids[r] * D;
    const float* p = w.dec_pos + t * D;
    float* dst = y.data() + r * D;
    for (int64_t i = 0; i < D; ++i) dst[i] = e[i] * scale + p[i];
  }, 16);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) cache.self_mask[n * cap + past + t] = token_mask ? token_mask[n * T + t] : 1.0f;
  std::vector<bool> self_masked(static_cast<size_t>(N)), source_masked(size_t(cache.sources));
  for (int64_t n = 0; n < N; ++n) self_masked[size_t(n)] = !all_ones(cache.self_mask.data() + n * cap, past + T);
  for (int64_t s = 0; s < cache.sources; ++s)
    source_masked[size_t(s)] = !all_ones(cache.source_mask.data() + s * Ls, Ls);

  if (capture && capture->enabled) {
    capture->probs = Tensor({N, T, Ls});
    if (capture->layer >= int(w.decoder.size())) throw Error("cross-attention capture: no decoder layer " + std::to_string(capture->layer));
  }
  const bool capturing = capture && capture->enabled;

  Tensor h = Tensor::uninitialized({M, D}), q = Tensor::uninitialized({M, D}), kv = Tensor::uninitialized({M, D});
  Tensor ctx = Tensor::uninitialized({M, D}), ff = Tensor::uninitialized({M, F});
  auto append_to_cache = [&](Tensor& dst) {
    for (int64_t n = 0; n < N; ++n)
      std::memcpy(dst.data() + (n * cap + past) * D, kv.data() + n * T * D, sizeof(float) * size_t(T * D));
  };
  for (size_t l = 0; l < w.decoder.size(); ++l) {
    const PegasusDecoderLayerWeights& lw = w.decoder[l];
    {
      prof::Scope scope("decoder self-attention");
      ops::layer_norm(y.data(), lw.ln_self_g, lw.ln_self_b, h.data(), M, D, eps);
      ops::linear(h.data(), M, D, lw.sq_w, D, lw.sq_b, q.data());
      ops::linear(h.data(), M, D, lw.sk_w, D, lw.sk_b, kv.data());
      append_to_cache(cache.self_k[l]);
      ops::linear(h.data(), M, D, lw.sv_w, D, lw.sv_b, kv.data());
      append_to_cache(cache.self_v[l]);
      // One row per task when there are enough rows (the kernel then runs serially inside each task);
      // otherwise the kernel parallelises over heads.
      auto self_attention = [&](int64_t n) {
        attn::DenseAttentionArgs a;
        a.q = q.data() + n * T * D;
        a.ldq = D;
        a.k = cache.self_k[l].data() + n * cap * D;
        a.v = cache.self_v[l].data() + n * cap * D;
        a.ldkv = D;
        a.query_len = T;
        a.key_len = past + T;
        a.heads = heads;
        a.head_dim = head_dim;
        a.key_mask = self_masked[size_t(n)] ? cache.self_mask.data() + n * cap : nullptr;
        a.mask_penalty = kMinPenalty;
        a.causal = T > 1;  // a single new token sees every cached key anyway
        a.causal_offset = past;
        a.ctx = ctx.data() + n * T * D;
        a.ldc = D;
        attn::dense_attention(a);
      };
      if (N >= num_threads())
        parallel_for(0, N, self_attention);
      else
        for (int64_t n = 0; n < N; ++n) self_attention(n);
      ops::linear(ctx.data(), M, D, lw.so_w, D, lw.so_b, h.data());
      add_inplace(y.data(), h.data(), M * D);
    }
    {
      prof::Scope scope("decoder cross-attention");
      ops::layer_norm(y.data(), lw.ln_cross_g, lw.ln_cross_b, h.data(), M, D, eps);
      ops::linear(h.data(), M, D, lw.cq_w, D, lw.cq_b, q.data());
      const bool capture_layer = capturing && (capture->layer < 0 || capture->layer == int(l));
      const float layer_weight = capture && capture->layer < 0 ? 1.0f / float(w.decoder.size()) : 1.0f;
      // Consecutive rows reading the same encoder row (the beams of one document) share one call.
      std::vector<float> probs;
      for (int64_t n0 = 0; n0 < N;) {
        const int32_t s = cache.row_source[size_t(n0)];
        int64_t n1 = n0 + 1;
        while (n1 < N && cache.row_source[size_t(n1)] == s) ++n1;
        const int64_t rows = (n1 - n0) * T;
        if (capture_layer) probs.assign(size_t(heads * rows * Ls), 0.0f);
        cross_attention(q.data() + n0 * T * D, rows, D, cache.cross_k[l].data() + s * Ls * D,
                        cache.cross_v[l].data() + s * Ls * D,
                        source_masked[size_t(s)] ? cache.source_mask.data() + s * Ls : nullptr, heads, head_dim, Ls,
                        ctx.data() + n0 * T * D, D, capture_layer ? probs.data() : nullptr);
        if (capture_layer) {  // mean over heads (and layers)
          float* dst = capture->probs.data() + n0 * T * Ls;
          const float wgt = layer_weight / float(heads);
          for (int hh = 0; hh < heads; ++hh)
            for (int64_t i = 0; i < rows * Ls; ++i) dst[i] += wgt * probs[size_t(hh * rows * Ls + i)];
        }
        n0 = n1;
      }
      ops::linear(ctx.data(), M, D, lw.co_w, D, lw.co_b, h.data());
      add_inplace(y.data(), h.data(), M * D);
    }
    {
      prof::Scope scope("decoder FFN");
      ops::layer_norm(y.data(), lw.ln_ffn_g, lw.ln_ffn_b, h.data(), M, D, eps);
      ops::linear(h.data(), M, D, lw.fc1_w, F, lw.fc1_b, ff.data());
      ops::activation(c.hidden_act, ff.data(), M * F);
      ops::linear(ff.data(), M, F, lw.fc2_w, D, lw.fc2_b, h.data());
      add_inplace(y.data(), h.data(), M * D);
    }
  }
  cache.length += T;

  prof::Scope scope("decoder LM head");
  const int64_t out_rows = all_positions ? M : N;
  Tensor last = Tensor::uninitialized({out_rows, D});
  for (int64_t r = 0; r < out_rows; ++r) {
    const int64_t src = all_positions ? r : r * T + (T - 1);
    std::memcpy(last.data() + r * D, y.data() + src * D, sizeof(float) * size_t(D));
  }
  ops::layer_norm(last.data(), w.dec_ln_g, w.dec_ln_b, last.data(), out_rows, D, eps);
  Tensor logits = Tensor::uninitialized(all_positions ? Shape{N, T, V} : Shape{N, V});
  ops::linear(last.data(), out_rows, D, w.lm_head, V, w.final_logits_bias, logits.data());
  return logits;
}

}  // namespace bb
