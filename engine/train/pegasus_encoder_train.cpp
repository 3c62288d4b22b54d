// BigBird-Pegasus pre-LN encoder for training (see pegasus_train.h): forward with saved activations
// and the backward, layer by layer in reverse.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/models/pegasus_encoder.h"
#include "engine/ops/activations.h"
#include "engine/ops/activations_backward.h"
#include "engine/ops/embedding_backward.h"
#include "engine/ops/gemm.h"
#include "engine/ops/layer_norm_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/normalization.h"
#include "engine/train/attention_train.h"
#include "engine/train/dropout.h"
#include "engine/train/pegasus_train.h"

namespace bb::train {

namespace {

// Dropout sites: (1, 0, 0) the embeddings; (1, layer + 1, 1) attention output; (1, layer + 1, 2) FFN output.
uint64_t site_key(const Seq2SeqDropout& d, int layer, uint64_t site) {
  return dropout_key(d.stream, 1, uint64_t(layer + 1), site);
}

// Embedding dropout on the real rows only (HF pads to the block size after the dropout).
void embedding_dropout(const Seq2SeqDropout& d, const Seq2SeqPadded& b, int64_t D, float* x) {
  if (d.hidden <= 0.0f) return;
  const int64_t P = b.src_padded, L = b.src_len;
  for (int64_t row = 0; row < b.batch; ++row)
    dropout_forward(x + row * P * D, L * D, d.hidden, site_key(d, -1, 0), uint64_t(row * P * D));
}

attn::BlockPattern layer_pattern(const ModelConfig& c, const Seq2SeqPadded& b, int layer) {
  attn::TableParams tp;
  tp.seq_len = b.src_padded;
  tp.block = c.block_size;
  tp.num_random = c.num_random_blocks;
  tp.heads = c.num_attention_heads;
  tp.layer = layer;
  tp.max_position_embeddings = c.max_position_embeddings;
  tp.mode = b.random_blocks;
  return attn::BlockPattern(b.src_padded, c.block_size, c.num_random_blocks, c.num_attention_heads,
                            attn::random_block_table(tp));
}

AttentionTrainArgs attention_args(const ModelConfig& c, const Seq2SeqPadded& b, const attn::BlockPattern* pattern,
                                  const PegasusEncoderLayerActs& a, int64_t row) {
  const int64_t P = b.src_padded, D = c.hidden_size;
  AttentionTrainArgs at;
  at.q = a.q.data() + row * P * D;
  at.k = a.k.data() + row * P * D;
  at.v = a.v.data() + row * P * D;
  at.ld = D;
  at.len = P;
  at.heads = c.num_attention_heads;
  at.head_dim = int(c.head_dim());
  at.mask = b.src_mask_p.data() + row * P;
  at.type = b.decision.type;
  at.pattern = pattern;
  return at;
}

}  // namespace

void pegasus_encoder_train_forward(const TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                   bool keep, PegasusEncoderTrace& trace) {
  const ModelConfig& c = m.config();
  const PegasusWeights& w = m.weights();
  const int64_t B = b.batch, L = b.src_len, P = b.src_padded, D = c.hidden_size, F = c.intermediate_size;
  const int64_t rows = B * P;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  const bool sparse = b.decision.type != attn::AttentionType::OriginalFull;
  trace = PegasusEncoderTrace();

  Tensor x = Tensor::uninitialized({rows, D});
  {
    prof::Scope scope("pegasus train fwd: encoder embeddings");
    parallel_for(0, rows, [&](int64_t r) {
      const int64_t t = r % P;
      float* dst = x.data() + r * D;
      const float* e = w.shared + b.src_ids[r] * D;
      if (t < L) {
        const float* p = w.enc_pos + t * D;
        for (int64_t i = 0; i < D; ++i) dst[i] = e[i] * scale + p[i];
      } else {  // HF _pad_to_block_size: embed_tokens(pad), neither scaled nor positioned
        std::copy(e, e + D, dst);
      }
    }, 64);
    embedding_dropout(drop, b, D, x.data());
  }
  PegasusEncoderLayerActs scratch;
  for (int l = 0; l < int(w.encoder.size()); ++l) {
    const PegasusEncoderLayerWeights& lw = w.encoder[size_t(l)];
    if (sparse) trace.patterns.push_back(layer_pattern(c, b, l));
    const attn::BlockPattern* pattern = sparse ? &trace.patterns.back() : nullptr;
    PegasusEncoderLayerActs& a = keep ? trace.layers.emplace_back() : scratch;
    for (Tensor* t : {&a.h1, &a.q, &a.k, &a.v, &a.ctx, &a.x_mid, &a.h2})
      if (t->shape() != Shape{rows, D}) *t = Tensor::uninitialized({rows, D});
    if (a.ff_pre.shape() != Shape{rows, F}) a.ff_pre = Tensor::uninitialized({rows, F});
    prof::Scope scope("pegasus train fwd: encoder layer");
    ops::layer_norm(x.data(), lw.ln_self_g, lw.ln_self_b, a.h1.data(), rows, D, eps);
    ops::linear(a.h1.data(), rows, D, lw.q_w, D, lw.q_b, a.q.data());
    ops::linear(a.h1.data(), rows, D, lw.k_w, D, lw.k_b, a.k.data());
    ops::linear(a.h1.data(), rows, D, lw.v_w, D, lw.v_b, a.v.data());
    for (int64_t row = 0; row < B; ++row)
      attention_train_forward(attention_args(c, b, pattern, a, row), a.ctx.data() + row * P * D);
    ops::linear(a.ctx.data(), rows, D, lw.o_w, D, lw.o_b, a.x_mid.data());
    dropout_forward(a.x_mid.data(), rows * D, drop.hidden, site_key(drop, l, 1));
    add_inplace(a.x_mid.data(), x.data(), rows * D);
    ops::layer_norm(a.x_mid.data(), lw.ln_ffn_g, lw.ln_ffn_b, a.h2.data(), rows, D, eps);
    ops::linear(a.h2.data(), rows, D, lw.fc1_w, F, lw.fc1_b, a.ff_pre.data());
    Tensor act = a.ff_pre.clone();
    ops::activation(c.hidden_act, act.data(), act.numel());
    Tensor y = Tensor::uninitialized({rows, D});
    ops::linear(act.data(), rows, F, lw.fc2_w, D, lw.fc2_b, y.data());
    dropout_forward(y.data(), rows * D, drop.hidden, site_key(drop, l, 2));
    add_inplace(y.data(), a.x_mid.data(), rows * D);
    if (keep) a.x_in = std::move(x);
    x = std::move(y);
  }
  Tensor out = Tensor::uninitialized({rows, D});
  ops::layer_norm(x.data(), w.enc_ln_g, w.enc_ln_b, out.data(), rows, D, eps);
  if (keep) trace.x_final = std::move(x);
  trace.hidden = Tensor::uninitialized({B, L, D});
  for (int64_t row = 0; row < B; ++row)
    std::copy_n(out.data() + row * P * D, L * D, trace.hidden.data() + row * L * D);
}

void pegasus_encoder_train_backward(TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                    PegasusEncoderTrace& trace, const Tensor& dhidden) {
  const ModelConfig& c = m.config();
  const PegasusWeights& w = m.weights();
  const PegasusWeights& g = m.grad_ptrs();
  auto mut = PegasusGrads::mut;
  const int64_t B = b.batch, L = b.src_len, P = b.src_padded, D = c.hidden_size, F = c.intermediate_size;
  const int64_t rows = B * P;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  const bool sparse = b.decision.type != attn::AttentionType::OriginalFull;
  if (trace.layers.size() != w.encoder.size() || trace.x_final.empty())
    throw Error("encoder backward needs a forward that kept its activations");
  if (dhidden.shape() != Shape{B, L, D}) throw Error("encoder backward: gradient has the wrong shape");

  // Padded rows are cut from the output: they get no gradient.
  Tensor dx({rows, D});
  for (int64_t row = 0; row < B; ++row)
    std::copy_n(dhidden.data() + row * L * D, L * D, dx.data() + row * P * D);
  ops::layer_norm_backward(dx.data(), trace.x_final.data(), w.enc_ln_g, eps, rows, D, dx.data(), mut(g.enc_ln_g),
                           mut(g.enc_ln_b));
  trace.x_final = Tensor();

  Tensor dmid = Tensor::uninitialized({rows, D}), dh = Tensor::uninitialized({rows, D});
  Tensor dbranch = Tensor::uninitialized({rows, D});  // a residual branch's output gradient through its dropout
  Tensor dctx = Tensor::uninitialized({rows, D}), dq = Tensor::uninitialized({rows, D});
  Tensor dk = Tensor::uninitialized({rows, D}), dv = Tensor::uninitialized({rows, D});
  Tensor dff = Tensor::uninitialized({rows, F}), act = Tensor::uninitialized({rows, F});
  for (int l = int(w.encoder.size()) - 1; l >= 0; --l) {
    prof::Scope scope("pegasus train bwd: encoder layer");
    const PegasusEncoderLayerWeights& lw = w.encoder[size_t(l)];
    const PegasusEncoderLayerWeights& lg = g.encoder[size_t(l)];
    PegasusEncoderLayerActs& a = trace.layers[size_t(l)];
    // x_out = x_mid + W2·act(W1·LN2(x_mid))
    std::memcpy(act.data(), a.ff_pre.data(), sizeof(float) * size_t(rows * F));
    ops::activation(c.hidden_act, act.data(), rows * F);
    std::memcpy(dbranch.data(), dx.data(), sizeof(float) * size_t(rows * D));
    dropout_backward(dbranch.data(), rows * D, drop.hidden, site_key(drop, l, 2));
    ops::linear_backward(dbranch.data(), act.data(), lw.fc2_w, rows, F, D, dff.data(), mut(lg.fc2_w), mut(lg.fc2_b));
    ops::activation_backward(c.hidden_act, a.ff_pre.data(), dff.data(), dff.data(), rows * F);
    ops::linear_backward(dff.data(), a.h2.data(), lw.fc1_w, rows, D, F, dh.data(), mut(lg.fc1_w), mut(lg.fc1_b));
    std::memcpy(dmid.data(), dx.data(), sizeof(float) * size_t(rows * D));
    ops::layer_norm_backward(dh.data(), a.x_mid.data(), lw.ln_ffn_g, eps, rows, D, dmid.data(), mut(lg.ln_ffn_g),
                             mut(lg.ln_ffn_b), true);
    // x_mid = x_in + Wo·Attn(LN1(x_in))
    std::memcpy(dbranch.data(), dmid.data(), sizeof(float) * size_t(rows * D));
    dropout_backward(dbranch.data(), rows * D, drop.hidden, site_key(drop, l, 1));
    ops::linear_backward(dbranch.data(), a.ctx.data(), lw.o_w, rows, D, D, dctx.data(), mut(lg.o_w), mut(lg.o_b));
    const attn::BlockPattern* pattern = sparse ? &trace.patterns[size_t(l)] : nullptr;
    for (int64_t row = 0; row < B; ++row) {
      const int64_t off = row * P * D;
      attention_backward(attention_args(c, b, pattern, a, row), dctx.data() + off, dq.data() + off, dk.data() + off,
                         dv.data() + off);
    }
    ops::linear_backward(dq.data(), a.h1.data(), lw.q_w, rows, D, D, dh.data(), mut(lg.q_w), mut(lg.q_b));
    ops::linear_backward(dk.data(), a.h1.data(), lw.k_w, rows, D, D, dh.data(), mut(lg.k_w), mut(lg.k_b), true);
    ops::linear_backward(dv.data(), a.h1.data(), lw.v_w, rows, D, D, dh.data(), mut(lg.v_w), mut(lg.v_b), true);
    std::memcpy(dx.data(), dmid.data(), sizeof(float) * size_t(rows * D));
    ops::layer_norm_backward(dh.data(), a.x_in.data(), lw.ln_self_g, eps, rows, D, dx.data(), mut(lg.ln_self_g),
                             mut(lg.ln_self_b), true);
    a = PegasusEncoderLayerActs();  // free as we go
  }

  // x0 = scale·E[ids] + Pos[t] for real rows; padded rows are the pad embedding (padding_idx: no gradient).
  prof::Scope scope("pegasus train bwd: encoder embeddings");
  embedding_dropout(drop, b, D, dx.data());
  Tensor dpos = Tensor::uninitialized({B * L, D});
  for (int64_t row = 0; row < B; ++row)
    std::copy_n(dx.data() + row * P * D, L * D, dpos.data() + row * L * D);
  ops::embedding_backward(dpos.data(), nullptr, B * L, D, mut(g.enc_pos), -1, L);
  for (int64_t i = 0; i < rows * D; ++i) dx[i] *= scale;
  ops::embedding_backward(dx.data(), b.src_ids.data(), rows, D, mut(g.shared), c.pad_token_id);
}

}  // namespace bb::train
