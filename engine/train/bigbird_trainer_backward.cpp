// Backward of the BigBird encoder for training (see encoder_train.h), layer by layer in reverse.
#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/activations_backward.h"
#include "engine/ops/embedding_backward.h"
#include "engine/ops/layer_norm_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/train/attention_train.h"
#include "engine/train/dropout.h"
#include "engine/train/encoder_layer_train.h"

namespace bb::train {

namespace {
void ensure(Tensor& t, const Shape& shape) {
  if (t.shape() != shape) t = Tensor::uninitialized(shape);
}
}  // namespace

void LayerBackwardScratch::allocate(int64_t rows, int64_t H, int64_t I) {
  for (Tensor* t : {&dx1, &dctx, &dq, &dk, &dv}) ensure(*t, {rows, H});
  ensure(g, {rows, I});
  ensure(dff, {rows, I});
}

void layer_train_backward(const BigBirdLayerWeights& w, LayerGrads& g, const ModelConfig& c, const PaddedBatch& batch,
                          const attn::BlockPattern* pattern, int layer, const DropoutSettings& drop, const float* x,
                          const LayerActivations& a, float* dy, float* dx, LayerBackwardScratch& s) {
  const int64_t B = batch.batch, P = batch.padded, H = c.hidden_size, I = c.intermediate_size, rows = B * P;
  const float eps = float(c.layer_norm_eps);
  s.allocate(rows, H, I);

  {
    // y = LN2(dropout(W2·act(ff_pre) + b2) + x1)
    prof::Scope scope("train bwd: FFN + LayerNorm");
    ops::layer_norm_backward(dy, a.ln2_in.data(), w.ln2_g, eps, rows, H, dy, g.ln2_g, g.ln2_b);  // dy := d ln2_in
    std::memcpy(s.dx1.data(), dy, sizeof(float) * size_t(rows * H));                             // residual
    dropout_backward(dy, rows * H, drop.hidden, dropout_key(drop.stream, uint64_t(layer + 1), kFfnOutSite));
    std::memcpy(s.g.data(), a.ff_pre.data(), sizeof(float) * size_t(rows * I));
    ops::activation(c.hidden_act, s.g.data(), rows * I);  // recompute act(ff_pre)
    ops::linear_backward(dy, s.g.data(), w.ff2_w, rows, I, H, s.dff.data(), g.ff2_w, g.ff2_b);
    ops::activation_backward(c.hidden_act, a.ff_pre.data(), s.dff.data(), s.dff.data(), rows * I);
    ops::linear_backward(s.dff.data(), a.x1.data(), w.ff1_w, rows, H, I, s.dx1.data(), g.ff1_w, g.ff1_b, true);
  }
  {
    // x1 = LN1(dropout(Wo·ctx + bo) + x)
    prof::Scope scope("train bwd: attention output + LayerNorm");
    ops::layer_norm_backward(s.dx1.data(), a.ln1_in.data(), w.ln1_g, eps, rows, H, s.dx1.data(), g.ln1_g, g.ln1_b);
    std::memcpy(dx, s.dx1.data(), sizeof(float) * size_t(rows * H));  // residual
    dropout_backward(s.dx1.data(), rows * H, drop.hidden,
                     dropout_key(drop.stream, uint64_t(layer + 1), kAttentionOutSite));
    ops::linear_backward(s.dx1.data(), a.ctx.data(), w.o_w, rows, H, H, s.dctx.data(), g.o_w, g.o_b);
  }
  {
    prof::Scope scope("train bwd: attention");
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
      const int64_t off = b * P * H;
      attention_backward(at, s.dctx.data() + off, s.dq.data() + off, s.dk.data() + off, s.dv.data() + off);
    }
  }
  prof::Scope scope("train bwd: q/k/v");
  ops::linear_backward(s.dq.data(), x, w.q_w, rows, H, H, dx, g.q_w, g.q_b, true);
  ops::linear_backward(s.dk.data(), x, w.k_w, rows, H, H, dx, g.k_w, g.k_b, true);
  ops::linear_backward(s.dv.data(), x, w.v_w, rows, H, H, dx, g.v_w, g.v_b, true);
}

void encoder_train_backward(TrainableBigBird& m, const PaddedBatch& batch, const DropoutSettings& drop,
                            EncoderTrace& trace, Tensor& dhidden) {
  const ModelConfig& c = m.config();
  const BigBirdEncoderWeights& w = m.weights();
  EncoderGrads g = m.encoder_grads();
  const int64_t B = batch.batch, P = batch.padded, H = c.hidden_size, rows = B * P;
  const int layers = int(w.layers.size());
  const bool sparse = batch.decision.type != attn::AttentionType::OriginalFull;
  if (int(trace.layer_inputs.size()) != layers)
    throw Error("encoder backward needs a forward that kept its activations");
  if (dhidden.numel() != rows * H) throw Error("encoder backward: gradient has the wrong size");

  LayerBackwardScratch scratch;
  LayerActivations recomputed;
  Tensor dx = Tensor::uninitialized({rows, H});
  Tensor y_scratch;
  float* dy = dhidden.data();
  for (int l = layers - 1; l >= 0; --l) {
    const attn::BlockPattern* pattern = sparse ? &trace.patterns[size_t(l)] : nullptr;
    const float* x = trace.layer_inputs[size_t(l)].data();
    const LayerActivations* acts;
    if (trace.checkpointed) {
      prof::Scope scope("train bwd: recompute layer (checkpointing)");
      if (y_scratch.empty()) y_scratch = Tensor::uninitialized({rows, H});
      layer_train_forward(w.layers[size_t(l)], c, batch, pattern, l, drop, x, recomputed, y_scratch.data());
      acts = &recomputed;
    } else {
      acts = &trace.layers[size_t(l)];
    }
    layer_train_backward(w.layers[size_t(l)], g.layers[size_t(l)], c, batch, pattern, l, drop, x, *acts, dy, dx.data(),
                         scratch);
    std::memcpy(dy, dx.data(), sizeof(float) * size_t(rows * H));
    if (!trace.checkpointed) trace.layers[size_t(l)] = LayerActivations();  // free as we go
    trace.layer_inputs[size_t(l)] = Tensor();
  }

  // Embeddings: x0 = LN(dropout(word[ids] + type[types] + pos[t]))
  prof::Scope scope("train bwd: embeddings");
  ops::layer_norm_backward(dy, trace.emb_ln_in.data(), w.emb_ln_g, float(c.layer_norm_eps), rows, H, dy, g.emb_ln_g,
                           g.emb_ln_b);
  dropout_backward(dy, rows * H, drop.hidden, dropout_key(drop.stream, 0, kEmbeddingSite));
  ops::embedding_backward(dy, batch.ids.data(), rows, H, g.word, c.pad_token_id);
  ops::embedding_backward(dy, batch.types.data(), rows, H, g.token_type);
  ops::embedding_backward(dy, nullptr, rows, H, g.position, -1, P);
}

}  // namespace bb::train
