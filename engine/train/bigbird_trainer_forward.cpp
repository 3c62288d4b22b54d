// Training forward of the BigBird encoder (see encoder_train.h). Uses the inference ops in the
// inference order: linear, residual add, LayerNorm, activation, the attention kernels.
#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"
#include "engine/train/attention_train.h"
#include "engine/train/dropout.h"
#include "engine/train/encoder_layer_train.h"

namespace bb::train {

namespace {

void add_inplace(float* x, const float* y, int64_t n) {
  parallel_for(0, (n + 65535) / 65536, [&](int64_t c) {
    const int64_t b = c * 65536, e = std::min(n, b + 65536);
    for (int64_t i = b; i < e; ++i) x[i] += y[i];
  });
}

void ensure(Tensor& t, const Shape& shape) {
  if (t.shape() != shape) t = Tensor::uninitialized(shape);
}

attn::BlockPattern layer_pattern(const ModelConfig& c, const PaddedBatch& batch, int layer) {
  attn::TableParams tp;
  tp.seq_len = batch.padded;
  tp.block = c.block_size;
  tp.num_random = c.num_random_blocks;
  tp.heads = c.num_attention_heads;
  tp.layer = layer;
  tp.max_position_embeddings = c.max_position_embeddings;
  tp.mode = batch.random_blocks;
  return attn::BlockPattern(batch.padded, c.block_size, c.num_random_blocks, c.num_attention_heads,
                            attn::random_block_table(tp));
}

}  // namespace

void LayerActivations::allocate(int64_t rows, int64_t H, int64_t I) {
  for (Tensor* t : {&q, &k, &v, &ctx, &ln1_in, &x1, &ln2_in}) ensure(*t, {rows, H});
  ensure(ff_pre, {rows, I});
}

void layer_train_forward(const BigBirdLayerWeights& w, const ModelConfig& c, const PaddedBatch& batch,
                         const attn::BlockPattern* pattern, int layer, const DropoutSettings& drop, const float* x,
                         LayerActivations& a, float* y) {
  const int64_t B = batch.batch, P = batch.padded, H = c.hidden_size, I = c.intermediate_size, rows = B * P;
  const float eps = float(c.layer_norm_eps);
  a.allocate(rows, H, I);
  {
    prof::Scope scope("train fwd: q/k/v");
    ops::linear(x, rows, H, w.q_w, H, w.q_b, a.q.data());
    ops::linear(x, rows, H, w.k_w, H, w.k_b, a.k.data());
    ops::linear(x, rows, H, w.v_w, H, w.v_b, a.v.data());
  }
  {
    prof::Scope scope("train fwd: attention");
    for (int64_t b = 0; b < B; ++b) {
      AttentionTrainArgs at;
      at.q = a.q.data() + b * P * H;
      at.k = a.k.data() + b * P * H;
      at.v = a.v.data() + b * P * H;
      at.ld = H;
      at.len = P;
      at.heads = c.num_attention_heads;
      at.head_dim = int(c.head_dim());
      at.mask = batch.mask.data() + b * P;
      at.type = batch.decision.type;
      at.pattern = pattern;
      at.dropout = drop.attention;
      at.dropout_key = dropout_key(drop.stream, uint64_t(layer + 1), kAttentionProbSite, uint64_t(b));
      attention_train_forward(at, a.ctx.data() + b * P * H);
    }
  }
  {
    prof::Scope scope("train fwd: attention output + LayerNorm");
    ops::linear(a.ctx.data(), rows, H, w.o_w, H, w.o_b, a.ln1_in.data());
    dropout_forward(a.ln1_in.data(), rows * H, drop.hidden,
                    dropout_key(drop.stream, uint64_t(layer + 1), kAttentionOutSite));
    add_inplace(a.ln1_in.data(), x, rows * H);
    ops::layer_norm(a.ln1_in.data(), w.ln1_g, w.ln1_b, a.x1.data(), rows, H, eps);
  }
  prof::Scope scope("train fwd: FFN + LayerNorm");
  ops::linear(a.x1.data(), rows, H, w.ff1_w, I, w.ff1_b, a.ff_pre.data());
  // The activation output feeds only the next product: a temporary here, recomputed in backward.
  Tensor act = a.ff_pre.clone();
  ops::activation(c.hidden_act, act.data(), act.numel());
  ops::linear(act.data(), rows, I, w.ff2_w, H, w.ff2_b, a.ln2_in.data());
  dropout_forward(a.ln2_in.data(), rows * H, drop.hidden, dropout_key(drop.stream, uint64_t(layer + 1), kFfnOutSite));
  add_inplace(a.ln2_in.data(), a.x1.data(), rows * H);
  ops::layer_norm(a.ln2_in.data(), w.ln2_g, w.ln2_b, y, rows, H, eps);
}

void encoder_train_forward(const TrainableBigBird& m, const PaddedBatch& batch, const DropoutSettings& drop,
                           KeepActivations keep, EncoderTrace& trace) {
  const ModelConfig& c = m.config();
  const BigBirdEncoderWeights& w = m.weights();
  const int64_t B = batch.batch, P = batch.padded, H = c.hidden_size, rows = B * P;
  const bool sparse = batch.decision.type != attn::AttentionType::OriginalFull;

  trace = EncoderTrace();
  trace.checkpointed = keep == KeepActivations::LayerInputs;
  // Embeddings: word + token type + position, dropout, LayerNorm (HF order: dropout before LN).
  Tensor x = Tensor::uninitialized({rows, H});
  {
    prof::Scope scope("train fwd: embeddings");
    trace.emb_ln_in = Tensor::uninitialized({rows, H});
    parallel_for(
        0, rows,
        [&](int64_t r) {
          const float* we = w.word + batch.ids[r] * H;
          const float* te = w.token_type + batch.types[r] * H;
          const float* pe = w.position + (r % P) * H;
          float* out = trace.emb_ln_in.data() + r * H;
          for (int64_t i = 0; i < H; ++i) out[i] = we[i] + te[i] + pe[i];
        },
        64);
    dropout_forward(trace.emb_ln_in.data(), rows * H, drop.hidden, dropout_key(drop.stream, 0, kEmbeddingSite));
    ops::layer_norm(trace.emb_ln_in.data(), w.emb_ln_g, w.emb_ln_b, x.data(), rows, H, float(c.layer_norm_eps));
  }

  LayerActivations scratch;
  trace.patterns.reserve(w.layers.size());
  for (int l = 0; l < int(w.layers.size()); ++l) {
    if (sparse) trace.patterns.push_back(layer_pattern(c, batch, l));
    const attn::BlockPattern* pattern = sparse ? &trace.patterns.back() : nullptr;
    LayerActivations* acts = &scratch;
    if (keep == KeepActivations::All) {
      trace.layers.emplace_back();
      acts = &trace.layers.back();
    }
    Tensor y = Tensor::uninitialized({rows, H});
    layer_train_forward(w.layers[size_t(l)], c, batch, pattern, l, drop, x.data(), *acts, y.data());
    if (keep == KeepActivations::None) {
      x = std::move(y);
    } else {
      trace.layer_inputs.push_back(std::move(x));
      x = std::move(y);
    }
  }
  trace.hidden = std::move(x).reshaped({B, P, H});
}

int64_t saved_activation_bytes(const EncoderTrace& t) {
  int64_t n = int64_t(t.emb_ln_in.bytes());
  for (const Tensor& x : t.layer_inputs) n += int64_t(x.bytes());
  for (const LayerActivations& a : t.layers)
    for (const Tensor* x : {&a.q, &a.k, &a.v, &a.ctx, &a.ln1_in, &a.x1, &a.ff_pre, &a.ln2_in}) n += int64_t(x->bytes());
  return n;
}

}  // namespace bb::train
