#include "engine/models/bigbird_encoder.h"

#include <algorithm>
#include <limits>

#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb {

BigBirdEncoderWeights bind_bigbird_encoder(const ParameterStore& p, const ModelConfig& c, const std::string& prefix) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  BigBirdEncoderWeights w{};
  const std::string e = prefix + "embeddings.";
  w.word = p.get(e + "word_embeddings.weight", {c.vocab_size, H}).data();
  w.position = p.get(e + "position_embeddings.weight", {c.max_position_embeddings, H}).data();
  w.token_type = p.get(e + "token_type_embeddings.weight", {c.type_vocab_size, H}).data();
  w.emb_ln_g = p.get(e + "LayerNorm.weight", {H}).data();
  w.emb_ln_b = p.get(e + "LayerNorm.bias", {H}).data();
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = prefix + "encoder.layer." + std::to_string(l) + ".";
    BigBirdLayerWeights L{};
    L.q_w = p.get(n + "attention.self.query.weight", {H, H}).data();
    L.k_w = p.get(n + "attention.self.key.weight", {H, H}).data();
    L.v_w = p.get(n + "attention.self.value.weight", {H, H}).data();
    if (c.use_bias) {
      L.q_b = p.get(n + "attention.self.query.bias", {H}).data();
      L.k_b = p.get(n + "attention.self.key.bias", {H}).data();
      L.v_b = p.get(n + "attention.self.value.bias", {H}).data();
    } else {
      L.q_b = L.k_b = L.v_b = nullptr;
    }
    L.o_w = p.get(n + "attention.output.dense.weight", {H, H}).data();
    L.o_b = p.get(n + "attention.output.dense.bias", {H}).data();
    L.ln1_g = p.get(n + "attention.output.LayerNorm.weight", {H}).data();
    L.ln1_b = p.get(n + "attention.output.LayerNorm.bias", {H}).data();
    L.ff1_w = p.get(n + "intermediate.dense.weight", {I, H}).data();
    L.ff1_b = p.get(n + "intermediate.dense.bias", {I}).data();
    L.ff2_w = p.get(n + "output.dense.weight", {H, I}).data();
    L.ff2_b = p.get(n + "output.dense.bias", {H}).data();
    L.ln2_g = p.get(n + "output.LayerNorm.weight", {H}).data();
    L.ln2_b = p.get(n + "output.LayerNorm.bias", {H}).data();
    w.layers.push_back(L);
  }
  return w;
}

namespace {

void add_inplace(float* x, const float* y, int64_t n) {
  parallel_for(0, (n + 65535) / 65536, [&](int64_t c) {
    const int64_t b = c * 65536, e = std::min(n, b + 65536);
    for (int64_t i = b; i < e; ++i) x[i] += y[i];
  });
}

}  // namespace

EncoderResult run_bigbird_encoder(const BigBirdEncoderWeights& w, const ModelConfig& c, const EncoderPass& pass) {
  const int64_t B = pass.batch, L = pass.len, H = c.hidden_size, I = c.intermediate_size;
  const int64_t rows = B * L;
  const int heads = c.num_attention_heads;
  const int64_t d = c.head_dim();
  const float eps = float(c.layer_norm_eps);
  const bool sparse = pass.decision.type != attn::AttentionType::OriginalFull;

  EncoderResult res;
  // [batch*len, H]: word + token type + position, then LayerNorm (dropout is off at inference).
  Tensor x = Tensor::uninitialized({B, L, H});
  {
    prof::Scope scope("embeddings");
    parallel_for(0, rows, [&](int64_t r) {
      const int64_t pos = r % L;
      const float* we = w.word + pass.input_ids[r] * H;
      const float* te = w.token_type + pass.token_type_ids[r] * H;
      const float* pe = w.position + pos * H;
      float* out = x.data() + r * H;
      for (int64_t i = 0; i < H; ++i) out[i] = we[i] + te[i] + pe[i];
    }, 64);
    ops::layer_norm(x.data(), w.emb_ln_g, w.emb_ln_b, x.data(), rows, H, eps);
  }
  if (pass.keep_hidden_states) res.hidden_states.push_back(x.clone());

  Tensor q = Tensor::uninitialized({rows, H}), k = Tensor::uninitialized({rows, H});
  Tensor v = Tensor::uninitialized({rows, H}), ctx = Tensor::uninitialized({rows, H});
  Tensor tmp = Tensor::uninitialized({rows, H}), ff = Tensor::uninitialized({rows, I});

  for (int l = 0; l < int(w.layers.size()); ++l) {
    const BigBirdLayerWeights& lw = w.layers[size_t(l)];
    {
      prof::Scope scope("q/k/v projections");
      ops::linear(x.data(), rows, H, lw.q_w, H, lw.q_b, q.data());
      ops::linear(x.data(), rows, H, lw.k_w, H, lw.k_b, k.data());
      ops::linear(x.data(), rows, H, lw.v_w, H, lw.v_b, v.data());
    }

    attn::BlockPattern pattern;
    if (sparse) {
      attn::TableParams tp;
      tp.seq_len = L;
      tp.block = c.block_size;
      tp.num_random = c.num_random_blocks;
      tp.heads = heads;
      tp.layer = l;
      tp.max_position_embeddings = c.max_position_embeddings;
      tp.mode = pass.random_blocks;
      pattern = attn::BlockPattern(L, c.block_size, c.num_random_blocks, heads, attn::random_block_table(tp));
      res.random_tables.push_back(pattern.table());
    }
    const bool capture = pass.capture.wants(l);
    if (capture) res.attentions.emplace_back(size_t(B));

    {
      prof::Scope scope("attention");
      for (int64_t b = 0; b < B; ++b) {
        const int64_t off = b * L * H;
        const float* mask = pass.mask + b * L;
        attn::AttentionMap* cap = capture ? &res.attentions.back()[size_t(b)] : nullptr;
        if (pass.decision.type == attn::AttentionType::BlockSparse) {
          attn::BlockSparseArgs a;
          a.q = q.data() + off;
          a.k = k.data() + off;
          a.v = v.data() + off;
          a.ldq = a.ldkv = a.ldc = H;
          a.heads = heads;
          a.head_dim = int(d);
          a.pattern = &pattern;
          a.mask = mask;
          a.ctx = ctx.data() + off;
          a.capture = cap;
          attn::block_sparse_attention(a);
        } else {
          attn::DenseAttentionArgs a;
          a.q = q.data() + off;
          a.k = k.data() + off;
          a.v = v.data() + off;
          a.ldq = a.ldkv = a.ldc = H;
          a.query_len = a.key_len = L;
          a.heads = heads;
          a.head_dim = int(d);
          a.key_mask = mask;
          a.ctx = ctx.data() + off;
          a.capture = cap;
          if (sparse) {  // simulated_sparse: -10000 everywhere, like the block-sparse path
            a.simulated_pattern = &pattern;
            a.query_mask = mask;
            a.mask_penalty = -10000.0f;
          } else {
            a.mask_penalty = std::numeric_limits<float>::lowest();  // HF extended attention mask
          }
          attn::dense_attention(a);
        }
      }
    }
    {
      prof::Scope scope("attention output + LayerNorm");
      ops::linear(ctx.data(), rows, H, lw.o_w, H, lw.o_b, tmp.data());
      add_inplace(tmp.data(), x.data(), rows * H);
      ops::layer_norm(tmp.data(), lw.ln1_g, lw.ln1_b, tmp.data(), rows, H, eps);  // tmp = x1
    }
    {
      prof::Scope scope("FFN in");
      ops::linear(tmp.data(), rows, H, lw.ff1_w, I, lw.ff1_b, ff.data());
    }
    {
      prof::Scope scope("activation");
      ops::activation(c.hidden_act, ff.data(), rows * I);
    }
    {
      prof::Scope scope("FFN out + LayerNorm");
      ops::linear(ff.data(), rows, I, lw.ff2_w, H, lw.ff2_b, x.data());
      add_inplace(x.data(), tmp.data(), rows * H);
      ops::layer_norm(x.data(), lw.ln2_g, lw.ln2_b, x.data(), rows, H, eps);
    }
    if (pass.keep_hidden_states) res.hidden_states.push_back(x.clone());
    if (pass.on_layer_done) pass.on_layer_done(l, int(w.layers.size()), capture ? &res.attentions.back() : nullptr);
  }
  res.hidden = std::move(x);
  return res;
}

}  // namespace bb
