// BigBird-Pegasus pre-LN decoder for training (see pegasus_train.h): teacher-forced forward over the
// whole target with causal self-attention and cross-attention, the tied LM head, and the backward.
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
#include "engine/train/dense_attention_train.h"
#include "engine/train/dropout.h"
#include "engine/train/pegasus_train.h"

namespace bb::train {

namespace {

// Dropout sites: (2, 0, 0) the embeddings; (2, layer + 1, 1 | 2 | 3) self-attention, cross-attention, FFN output.
uint64_t site_key(const Seq2SeqDropout& d, int layer, uint64_t site) {
  return dropout_key(d.stream, 2, uint64_t(layer + 1), site);
}

void ensure(Tensor& t, const Shape& s) {
  if (t.shape() != s) t = Tensor::uninitialized(s);
}

DenseAttentionTrainArgs self_args(const ModelConfig& c, const Seq2SeqPadded& b, const PegasusDecoderLayerActs& a,
                                  int64_t row) {
  const int64_t T = b.tgt_len, D = c.hidden_size;
  DenseAttentionTrainArgs at;
  at.q = a.sq.data() + row * T * D;
  at.k = a.sk.data() + row * T * D;
  at.v = a.sv.data() + row * T * D;
  at.ldq = at.ldkv = at.ldc = D;
  at.q_len = at.k_len = T;
  at.heads = c.decoder_attention_heads;
  at.head_dim = int(D / c.decoder_attention_heads);
  at.causal = true;
  return at;
}

DenseAttentionTrainArgs cross_args(const ModelConfig& c, const Seq2SeqPadded& b, const PegasusDecoderLayerActs& a,
                                   int64_t row) {
  const int64_t T = b.tgt_len, L = b.src_len, D = c.hidden_size;
  DenseAttentionTrainArgs at;
  at.q = a.cq.data() + row * T * D;
  at.k = a.ck.data() + row * L * D;
  at.v = a.cv.data() + row * L * D;
  at.ldq = at.ldkv = at.ldc = D;
  at.q_len = T;
  at.k_len = L;
  at.heads = c.decoder_attention_heads;
  at.head_dim = int(D / c.decoder_attention_heads);
  at.key_mask = b.src_mask.data() + row * L;
  return at;
}

}  // namespace

Tensor pegasus_decoder_train_forward(const TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                     const Tensor& enc_hidden, bool keep, PegasusDecoderTrace& trace) {
  const ModelConfig& c = m.config();
  const PegasusWeights& w = m.weights();
  const int64_t B = b.batch, T = b.tgt_len, L = b.src_len, D = c.hidden_size, F = c.decoder_ffn_dim;
  const int64_t V = c.vocab_size, M = B * T, S = B * L;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  if (enc_hidden.shape() != Shape{B, L, D}) throw Error("decoder forward: encoder output has the wrong shape");
  trace = PegasusDecoderTrace();

  Tensor y = Tensor::uninitialized({M, D});
  parallel_for(0, M, [&](int64_t r) {
    const float* e = w.shared + b.dec_ids[r] * D;
    const float* p = w.dec_pos + (r % T) * D;
    float* dst = y.data() + r * D;
    for (int64_t i = 0; i < D; ++i) dst[i] = e[i] * scale + p[i];
  }, 16);
  dropout_forward(y.data(), M * D, drop.hidden, site_key(drop, -1, 0));

  PegasusDecoderLayerActs scratch;
  for (int l = 0; l < int(w.decoder.size()); ++l) {
    const PegasusDecoderLayerWeights& lw = w.decoder[size_t(l)];
    prof::Scope scope("pegasus train fwd: decoder layer");
    PegasusDecoderLayerActs& a = keep ? trace.layers.emplace_back() : scratch;
    for (Tensor* t : {&a.h1, &a.sq, &a.sk, &a.sv, &a.sctx, &a.y_mid1, &a.h2, &a.cq, &a.cctx, &a.y_mid2, &a.h3})
      ensure(*t, {M, D});
    ensure(a.ff_pre, {M, F});
    ensure(a.ck, {S, D});
    ensure(a.cv, {S, D});
    // causal self-attention
    ops::layer_norm(y.data(), lw.ln_self_g, lw.ln_self_b, a.h1.data(), M, D, eps);
    ops::linear(a.h1.data(), M, D, lw.sq_w, D, lw.sq_b, a.sq.data());
    ops::linear(a.h1.data(), M, D, lw.sk_w, D, lw.sk_b, a.sk.data());
    ops::linear(a.h1.data(), M, D, lw.sv_w, D, lw.sv_b, a.sv.data());
    for (int64_t row = 0; row < B; ++row)
      dense_attention_train_forward(self_args(c, b, a, row), a.sctx.data() + row * T * D);
    ops::linear(a.sctx.data(), M, D, lw.so_w, D, lw.so_b, a.y_mid1.data());
    dropout_forward(a.y_mid1.data(), M * D, drop.hidden, site_key(drop, l, 1));
    add_inplace(a.y_mid1.data(), y.data(), M * D);
    // cross-attention over the encoder output
    ops::layer_norm(a.y_mid1.data(), lw.ln_cross_g, lw.ln_cross_b, a.h2.data(), M, D, eps);
    ops::linear(a.h2.data(), M, D, lw.cq_w, D, lw.cq_b, a.cq.data());
    ops::linear(enc_hidden.data(), S, D, lw.ck_w, D, lw.ck_b, a.ck.data());
    ops::linear(enc_hidden.data(), S, D, lw.cv_w, D, lw.cv_b, a.cv.data());
    for (int64_t row = 0; row < B; ++row)
      dense_attention_train_forward(cross_args(c, b, a, row), a.cctx.data() + row * T * D);
    ops::linear(a.cctx.data(), M, D, lw.co_w, D, lw.co_b, a.y_mid2.data());
    dropout_forward(a.y_mid2.data(), M * D, drop.hidden, site_key(drop, l, 2));
    add_inplace(a.y_mid2.data(), a.y_mid1.data(), M * D);
    // FFN
    ops::layer_norm(a.y_mid2.data(), lw.ln_ffn_g, lw.ln_ffn_b, a.h3.data(), M, D, eps);
    ops::linear(a.h3.data(), M, D, lw.fc1_w, F, lw.fc1_b, a.ff_pre.data());
    Tensor act = a.ff_pre.clone();
    ops::activation(c.hidden_act, act.data(), act.numel());
    Tensor out = Tensor::uninitialized({M, D});
    ops::linear(act.data(), M, F, lw.fc2_w, D, lw.fc2_b, out.data());
    dropout_forward(out.data(), M * D, drop.hidden, site_key(drop, l, 3));
    add_inplace(out.data(), a.y_mid2.data(), M * D);
    if (keep) a.y_in = std::move(y);
    y = std::move(out);
  }
  Tensor h = Tensor::uninitialized({M, D});
  ops::layer_norm(y.data(), w.dec_ln_g, w.dec_ln_b, h.data(), M, D, eps);
  Tensor logits = Tensor::uninitialized({M, V});
  ops::linear(h.data(), M, D, w.lm_head, V, w.final_logits_bias, logits.data());
  if (keep) {
    trace.y_final = std::move(y);
    trace.h_final = std::move(h);
  }
  return logits;
}

void pegasus_decoder_train_backward(TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                    const Tensor& enc_hidden, PegasusDecoderTrace& trace, const Tensor& dlogits,
                                    Tensor& denc) {
  const ModelConfig& c = m.config();
  const PegasusWeights& w = m.weights();
  const PegasusWeights& g = m.grad_ptrs();
  auto mut = PegasusGrads::mut;
  const int64_t B = b.batch, T = b.tgt_len, L = b.src_len, D = c.hidden_size, F = c.decoder_ffn_dim;
  const int64_t V = c.vocab_size, M = B * T, S = B * L;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  if (trace.layers.size() != w.decoder.size() || trace.y_final.empty())
    throw Error("decoder backward needs a forward that kept its activations");
  if (dlogits.numel() != M * V || denc.shape() != Shape{B, L, D})
    throw Error("decoder backward: gradient has the wrong shape");

  // LM head (tied to model.shared.weight; final_logits_bias is a buffer: no gradient) and the final LayerNorm.
  Tensor dy = Tensor::uninitialized({M, D});
  ops::linear_backward(dlogits.data(), trace.h_final.data(), w.lm_head, M, D, V, dy.data(), mut(g.lm_head), nullptr);
  ops::layer_norm_backward(dy.data(), trace.y_final.data(), w.dec_ln_g, eps, M, D, dy.data(), mut(g.dec_ln_g),
                           mut(g.dec_ln_b));
  trace.y_final = Tensor();
  trace.h_final = Tensor();

  Tensor dmid = Tensor::uninitialized({M, D}), dh = Tensor::uninitialized({M, D});
  Tensor dbranch = Tensor::uninitialized({M, D});  // a residual branch's output gradient through its dropout
  auto through_dropout = [&](const Tensor& g, int layer, uint64_t site) {
    std::memcpy(dbranch.data(), g.data(), sizeof(float) * size_t(M * D));
    dropout_backward(dbranch.data(), M * D, drop.hidden, site_key(drop, layer, site));
    return dbranch.data();
  };
  Tensor dctx = Tensor::uninitialized({M, D}), dq = Tensor::uninitialized({M, D});
  Tensor dk = Tensor::uninitialized({M, D}), dv = Tensor::uninitialized({M, D});
  Tensor dck = Tensor::uninitialized({S, D}), dcv = Tensor::uninitialized({S, D});
  Tensor dff = Tensor::uninitialized({M, F}), act = Tensor::uninitialized({M, F});
  for (int l = int(w.decoder.size()) - 1; l >= 0; --l) {
    prof::Scope scope("pegasus train bwd: decoder layer");
    const PegasusDecoderLayerWeights& lw = w.decoder[size_t(l)];
    const PegasusDecoderLayerWeights& lg = g.decoder[size_t(l)];
    PegasusDecoderLayerActs& a = trace.layers[size_t(l)];
    // FFN: y_out = y_mid2 + W2·act(W1·LN3(y_mid2))
    std::memcpy(act.data(), a.ff_pre.data(), sizeof(float) * size_t(M * F));
    ops::activation(c.hidden_act, act.data(), M * F);
    ops::linear_backward(through_dropout(dy, l, 3), act.data(), lw.fc2_w, M, F, D, dff.data(), mut(lg.fc2_w),
                         mut(lg.fc2_b));
    ops::activation_backward(c.hidden_act, a.ff_pre.data(), dff.data(), dff.data(), M * F);
    ops::linear_backward(dff.data(), a.h3.data(), lw.fc1_w, M, D, F, dh.data(), mut(lg.fc1_w), mut(lg.fc1_b));
    std::memcpy(dmid.data(), dy.data(), sizeof(float) * size_t(M * D));
    ops::layer_norm_backward(dh.data(), a.y_mid2.data(), lw.ln_ffn_g, eps, M, D, dmid.data(), mut(lg.ln_ffn_g),
                             mut(lg.ln_ffn_b), true);
    // cross-attention: y_mid2 = y_mid1 + Wo·Attn(Wq·LN2(y_mid1), Wk·enc, Wv·enc)
    ops::linear_backward(through_dropout(dmid, l, 2), a.cctx.data(), lw.co_w, M, D, D, dctx.data(), mut(lg.co_w),
                         mut(lg.co_b));
    for (int64_t row = 0; row < B; ++row)
      dense_attention_train_backward(cross_args(c, b, a, row), dctx.data() + row * T * D, dq.data() + row * T * D,
                                     dck.data() + row * L * D, dcv.data() + row * L * D);
    ops::linear_backward(dck.data(), enc_hidden.data(), lw.ck_w, S, D, D, denc.data(), mut(lg.ck_w), mut(lg.ck_b), true);
    ops::linear_backward(dcv.data(), enc_hidden.data(), lw.cv_w, S, D, D, denc.data(), mut(lg.cv_w), mut(lg.cv_b), true);
    ops::linear_backward(dq.data(), a.h2.data(), lw.cq_w, M, D, D, dh.data(), mut(lg.cq_w), mut(lg.cq_b));
    std::memcpy(dy.data(), dmid.data(), sizeof(float) * size_t(M * D));
    ops::layer_norm_backward(dh.data(), a.y_mid1.data(), lw.ln_cross_g, eps, M, D, dy.data(), mut(lg.ln_cross_g),
                             mut(lg.ln_cross_b), true);
    // causal self-attention: y_mid1 = y_in + Wo·Attn(LN1(y_in))
    ops::linear_backward(through_dropout(dy, l, 1), a.sctx.data(), lw.so_w, M, D, D, dctx.data(), mut(lg.so_w),
                         mut(lg.so_b));
    for (int64_t row = 0; row < B; ++row) {
      const int64_t off = row * T * D;
      dense_attention_train_backward(self_args(c, b, a, row), dctx.data() + off, dq.data() + off, dk.data() + off,
                                     dv.data() + off);
    }
    ops::linear_backward(dq.data(), a.h1.data(), lw.sq_w, M, D, D, dh.data(), mut(lg.sq_w), mut(lg.sq_b));
    ops::linear_backward(dk.data(), a.h1.data(), lw.sk_w, M, D, D, dh.data(), mut(lg.sk_w), mut(lg.sk_b), true);
    ops::linear_backward(dv.data(), a.h1.data(), lw.sv_w, M, D, D, dh.data(), mut(lg.sv_w), mut(lg.sv_b), true);
    ops::layer_norm_backward(dh.data(), a.y_in.data(), lw.ln_self_g, eps, M, D, dy.data(), mut(lg.ln_self_g),
                             mut(lg.ln_self_b), true);
    a = PegasusDecoderLayerActs();
  }
  // y0 = dropout(scale·E[dec_ids] + Pos[t])
  dropout_backward(dy.data(), M * D, drop.hidden, site_key(drop, -1, 0));
  ops::embedding_backward(dy.data(), nullptr, M, D, mut(g.dec_pos), -1, T);
  for (int64_t i = 0; i < M * D; ++i) dy[i] *= scale;
  ops::embedding_backward(dy.data(), b.dec_ids.data(), M, D, mut(g.shared), c.pad_token_id);
}

}  // namespace bb::train
