#include "engine/models/pegasus_encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb {

void add_inplace(float* x, const float* y, int64_t n) {
  parallel_for(0, (n + 65535) / 65536, [&](int64_t c) {
    const int64_t b = c * 65536, e = std::min(n, b + 65536);
    for (int64_t i = b; i < e; ++i) x[i] += y[i];
  });
}

namespace {

// Self-attention of one layer over every batch row; q/k/v/ctx are [batch*P, D].
void encoder_attention(const ModelConfig& c, const attn::AttentionDecision& decision, const attn::BlockPattern* pattern,
                       const float* q, const float* k, const float* v, const float* mask, int64_t B, int64_t P,
                       float* ctx, std::vector<attn::AttentionMap>* capture) {
  const int64_t D = c.hidden_size;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t off = b * P * D;
    attn::AttentionMap* cap = capture ? &(*capture)[size_t(b)] : nullptr;
    if (decision.type == attn::AttentionType::BlockSparse) {
      attn::BlockSparseArgs a;
      a.q = q + off;
      a.k = k + off;
      a.v = v + off;
      a.ldq = a.ldkv = a.ldc = D;
      a.heads = c.num_attention_heads;
      a.head_dim = int(c.head_dim());
      a.pattern = pattern;
      a.mask = mask + b * P;
      a.ctx = ctx + off;
      a.capture = cap;
      attn::block_sparse_attention(a);
    } else {
      attn::DenseAttentionArgs a;
      a.q = q + off;
      a.k = k + off;
      a.v = v + off;
      a.ldq = a.ldkv = a.ldc = D;
      a.query_len = a.key_len = P;
      a.heads = c.num_attention_heads;
      a.head_dim = int(c.head_dim());
      a.key_mask = mask + b * P;
      a.ctx = ctx + off;
      a.capture = cap;
      if (decision.type == attn::AttentionType::SimulatedSparse) {
        a.simulated_pattern = pattern;
        a.query_mask = mask + b * P;
        a.mask_penalty = -10000.0f;
      } else {
        a.mask_penalty = std::numeric_limits<float>::lowest();  // HF _prepare_4d_attention_mask: finfo.min
      }
      attn::dense_attention(a);
    }
  }
}

}  // namespace

PegasusEncoding run_pegasus_encoder(const PegasusWeights& w, const ModelConfig& c, const int64_t* ids,
                                    const float* mask, int64_t B, int64_t L, const PegasusEncodeOptions& opt) {
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;

  PegasusEncoding out;
  out.decision = attn::decide_attention(opt.attention_type.value_or(c.attention_type), L, c.block_size,
                                        c.num_random_blocks, opt.random_blocks);
  const int64_t P = out.decision.padded_len;
  if (L > c.max_position_embeddings)
    throw Error("input of " + std::to_string(L) + " tokens is longer than max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));
  const bool sparse = out.decision.type != attn::AttentionType::OriginalFull;
  const int64_t rows = B * P;

  Tensor x = Tensor::uninitialized({B, P, D});
  Tensor pmask = Tensor::uninitialized({B, P});
  {
    prof::Scope scope("encoder embeddings");
    parallel_for(0, rows, [&](int64_t r) {
      const int64_t b = r / P, t = r % P;
      float* dst = x.data() + r * D;
      if (t < L) {
        const float* e = w.shared + ids[b * L + t] * D;
        const float* p = w.enc_pos + t * D;
        for (int64_t i = 0; i < D; ++i) dst[i] = e[i] * scale + p[i];
        pmask[r] = mask[b * L + t];
      } else {  // HF _pad_to_block_size: embed_tokens(pad), neither scaled nor positioned
        const float* e = w.shared + c.pad_token_id * D;
        std::copy(e, e + D, dst);
        pmask[r] = 0.0f;
      }
    }, 64);
  }

  Tensor h = Tensor::uninitialized({rows, D}), q = Tensor::uninitialized({rows, D});
  Tensor k = Tensor::uninitialized({rows, D}), v = Tensor::uninitialized({rows, D});
  Tensor ctx = Tensor::uninitialized({rows, D}), ff = Tensor::uninitialized({rows, F});
  const int layers = int(w.encoder.size());
  for (int l = 0; l < layers; ++l) {
    const PegasusEncoderLayerWeights& lw = w.encoder[size_t(l)];
    {
      prof::Scope scope("encoder q/k/v");
      ops::layer_norm(x.data(), lw.ln_self_g, lw.ln_self_b, h.data(), rows, D, eps);
      ops::linear(h.data(), rows, D, lw.q_w, D, lw.q_b, q.data());
      ops::linear(h.data(), rows, D, lw.k_w, D, lw.k_b, k.data());
      ops::linear(h.data(), rows, D, lw.v_w, D, lw.v_b, v.data());
    }
    attn::BlockPattern pattern;
    if (sparse) {
      attn::TableParams tp;
      tp.seq_len = P;
      tp.block = c.block_size;
      tp.num_random = c.num_random_blocks;
      tp.heads = c.num_attention_heads;
      tp.layer = l;
      tp.max_position_embeddings = c.max_position_embeddings;
      tp.mode = opt.random_blocks;
      pattern = attn::BlockPattern(P, c.block_size, c.num_random_blocks, c.num_attention_heads,
                                   attn::random_block_table(tp));
      out.random_tables.push_back(pattern.table());
    }
    std::vector<attn::AttentionMap>* cap = nullptr;
    if (opt.capture.wants(l)) {
      out.attentions.emplace_back(size_t(B));
      out.captured_layers.push_back(l);
      cap = &out.attentions.back();
    }
    {
      prof::Scope scope("encoder attention");
      encoder_attention(c, out.decision, sparse ? &pattern : nullptr, q.data(), k.data(), v.data(), pmask.data(), B,
                        P, ctx.data(), cap);
    }
    {
      prof::Scope scope("encoder attention output");
      ops::linear(ctx.data(), rows, D, lw.o_w, D, lw.o_b, h.data());
      add_inplace(x.data(), h.data(), rows * D);
    }
    {
      prof::Scope scope("encoder FFN");
      ops::layer_norm(x.data(), lw.ln_ffn_g, lw.ln_ffn_b, h.data(), rows, D, eps);
      ops::linear(h.data(), rows, D, lw.fc1_w, F, lw.fc1_b, ff.data());
      ops::activation(c.hidden_act, ff.data(), rows * F);
      ops::linear(ff.data(), rows, F, lw.fc2_w, D, lw.fc2_b, h.data());
      add_inplace(x.data(), h.data(), rows * D);
    }
    if (opt.on_layer) opt.on_layer(l + 1, layers);
  }
  ops::layer_norm(x.data(), w.enc_ln_g, w.enc_ln_b, x.data(), rows, D, eps);

  if (P == L) {
    out.hidden = std::move(x);
  } else {
    out.hidden = Tensor::uninitialized({B, L, D});
    for (int64_t b = 0; b < B; ++b) std::copy_n(x.data() + b * P * D, L * D, out.hidden.data() + b * L * D);
  }
  out.mask = Tensor::uninitialized({B, L});
  std::copy_n(mask, B * L, out.mask.data());
  return out;
}

}  // namespace bb
