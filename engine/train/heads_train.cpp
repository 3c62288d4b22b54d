#include "engine/train/heads_train.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/ops/activations.h"
#include "engine/ops/activations_backward.h"
#include "engine/ops/gemm.h"
#include "engine/ops/layer_norm_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/normalization.h"
#include "engine/train/cross_entropy.h"
#include "engine/train/dropout.h"

namespace bb::train {

namespace {

constexpr uint64_t kHeadLayer = kHeadDropoutLayer;

// rows[i] of hidden [*, H] -> out [n, H]
Tensor gather_rows(const Tensor& hidden, const std::vector<int64_t>& rows, int64_t H) {
  Tensor out = Tensor::uninitialized({int64_t(rows.size()), H});
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(out.data() + int64_t(i) * H, hidden.data() + rows[i] * H, sizeof(float) * size_t(H));
  return out;
}

void scatter_add_rows(const Tensor& src, const std::vector<int64_t>& rows, int64_t H, Tensor& dhidden) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* s = src.data() + int64_t(i) * H;
    float* d = dhidden.data() + rows[i] * H;
    for (int64_t j = 0; j < H; ++j) d[j] += s[j];
  }
}

void start_gradient(Tensor* dhidden, const Tensor& hidden) {
  if (!dhidden) return;
  if (dhidden->shape() != hidden.shape())
    *dhidden = Tensor(hidden.shape());
  else
    dhidden->fill(0.0f);
}

}  // namespace

HeadResult mlm_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                     const HeadTargets& t, float grad_scale, Tensor* dhidden, HeadGrads* grads,
                                     bool keep_logits) {
  prof::Scope scope("train: MLM head");
  const ModelConfig& c = m.config();
  const HeadWeights& w = m.head_weights();
  const int64_t H = c.hidden_size, V = c.vocab_size, L = batch.len, P = batch.padded;
  if (!t.mlm_labels && dhidden) throw Error("MLM training needs labels");
  std::vector<int64_t> rows, targets;
  for (int64_t b = 0; t.mlm_labels && b < batch.batch; ++b)
    for (int64_t i = 0; i < L; ++i) {
      const int64_t label = t.mlm_labels[b * L + i];
      if (label == -100) continue;
      if (label < 0 || label >= V)
        throw Error("MLM label " + std::to_string(label) + " at [" + std::to_string(b) + ", " + std::to_string(i) +
                    "] is outside the vocabulary (0.." + std::to_string(V - 1) + ") and is not -100");
      rows.push_back(b * P + i);
      targets.push_back(label);
    }
  start_gradient(dhidden, hidden);
  HeadResult res;
  const int64_t n = int64_t(rows.size());
  if (n == 0) return res;

  const Tensor h = gather_rows(hidden, rows, H);
  Tensor pre = Tensor::uninitialized({n, H});
  ops::linear(h.data(), n, H, w.mlm_dense_w, H, w.mlm_dense_b, pre.data());
  Tensor act = pre.clone();
  ops::activation(c.hidden_act, act.data(), act.numel());
  Tensor tr = Tensor::uninitialized({n, H});
  ops::layer_norm(act.data(), w.mlm_ln_g, w.mlm_ln_b, tr.data(), n, H, float(c.layer_norm_eps));
  Tensor logits = Tensor::uninitialized({n, V});
  ops::linear(tr.data(), n, H, w.mlm_decoder_w, V, w.mlm_decoder_b, logits.data());
  if (keep_logits) res.logits = logits.clone();

  const CrossEntropyResult ce =
      cross_entropy(logits.data(), n, V, targets.data(), -100, dhidden ? logits.data() : nullptr, grad_scale);
  res.loss = ce.loss;
  res.count = ce.count;
  res.correct = ce.correct;
  if (!dhidden) return res;

  Tensor dtr = Tensor::uninitialized({n, H});
  ops::linear_backward(logits.data(), tr.data(), w.mlm_decoder_w, n, H, V, dtr.data(), grads->mlm_decoder_w,
                       grads->mlm_decoder_b);
  ops::layer_norm_backward(dtr.data(), act.data(), w.mlm_ln_g, float(c.layer_norm_eps), n, H, dtr.data(),
                           grads->mlm_ln_g, grads->mlm_ln_b);
  ops::activation_backward(c.hidden_act, pre.data(), dtr.data(), dtr.data(), n * H);
  Tensor dh = Tensor::uninitialized({n, H});
  ops::linear_backward(dtr.data(), h.data(), w.mlm_dense_w, n, H, H, dh.data(), grads->mlm_dense_w, grads->mlm_dense_b);
  scatter_add_rows(dh, rows, H, *dhidden);
  return res;
}

HeadResult cls_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                     const HeadTargets& t, const DropoutSettings& drop, float grad_scale,
                                     Tensor* dhidden, HeadGrads* grads) {
  const ModelConfig& c = m.config();
  const HeadWeights& w = m.head_weights();
  const int64_t B = batch.batch, H = c.hidden_size, C = m.num_labels(), P = batch.padded;
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < B; ++b) rows.push_back(b * P);  // [CLS] / <s> of every row
  start_gradient(dhidden, hidden);

  Tensor x0 = gather_rows(hidden, rows, H);
  const uint64_t key_in = dropout_key(drop.stream, kHeadLayer, 0), key_mid = dropout_key(drop.stream, kHeadLayer, 1);
  dropout_forward(x0.data(), B * H, drop.head, key_in);
  Tensor pre = Tensor::uninitialized({B, H});
  ops::linear(x0.data(), B, H, w.cls_dense_w, H, w.cls_dense_b, pre.data());
  Tensor act = pre.clone();
  ops::activation(c.hidden_act, act.data(), act.numel());
  dropout_forward(act.data(), B * H, drop.head, key_mid);
  Tensor logits = Tensor::uninitialized({B, C});
  ops::linear(act.data(), B, H, w.cls_out_w, C, w.cls_out_b, logits.data());

  HeadResult res;
  res.logits = logits.clone();
  if (!t.class_labels) return res;
  const CrossEntropyResult ce =
      cross_entropy(logits.data(), B, C, t.class_labels, -100, dhidden ? logits.data() : nullptr, grad_scale);
  res.loss = ce.loss;
  res.count = ce.count;
  res.correct = ce.correct;
  if (!dhidden) return res;

  Tensor dact = Tensor::uninitialized({B, H});
  ops::linear_backward(logits.data(), act.data(), w.cls_out_w, B, H, C, dact.data(), grads->cls_out_w,
                       grads->cls_out_b);
  dropout_backward(dact.data(), B * H, drop.head, key_mid);
  ops::activation_backward(c.hidden_act, pre.data(), dact.data(), dact.data(), B * H);
  Tensor dx0 = Tensor::uninitialized({B, H});
  ops::linear_backward(dact.data(), x0.data(), w.cls_dense_w, B, H, H, dx0.data(), grads->cls_dense_w,
                       grads->cls_dense_b);
  dropout_backward(dx0.data(), B * H, drop.head, key_in);
  scatter_add_rows(dx0, rows, H, *dhidden);
  return res;
}

HeadResult qa_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                    const HeadTargets& t, const DropoutSettings& drop, float grad_scale,
                                    Tensor* dhidden, HeadGrads* grads) {
  const ModelConfig& c = m.config();
  const HeadWeights& w = m.head_weights();
  const int64_t B = batch.batch, L = batch.len, P = batch.padded, H = c.hidden_size, I = c.intermediate_size;
  const int64_t n = B * L;
  const float eps = float(c.layer_norm_eps);
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i) rows.push_back(b * P + i);
  start_gradient(dhidden, hidden);

  const Tensor h = gather_rows(hidden, rows, H);
  const uint64_t key_in = dropout_key(drop.stream, kHeadLayer, 0), key_out = dropout_key(drop.stream, kHeadLayer, 1);
  Tensor hd = h.clone();
  dropout_forward(hd.data(), n * H, drop.head, key_in);
  Tensor pre = Tensor::uninitialized({n, I});
  ops::linear(hd.data(), n, H, w.qa_inter_w, I, w.qa_inter_b, pre.data());
  Tensor act = pre.clone();
  ops::activation(c.hidden_act, act.data(), act.numel());
  Tensor u = Tensor::uninitialized({n, H});
  ops::linear(act.data(), n, I, w.qa_out_w, H, w.qa_out_b, u.data());
  dropout_forward(u.data(), n * H, drop.head, key_out);
  for (int64_t i = 0; i < n * H; ++i) u[i] += h[i];
  Tensor x = Tensor::uninitialized({n, H});
  ops::layer_norm(u.data(), w.qa_ln_g, w.qa_ln_b, x.data(), n, H, eps);
  Tensor lg = Tensor::uninitialized({n, 2});
  ops::linear(x.data(), n, H, w.qa_outputs_w, 2, w.qa_outputs_b, lg.data());

  HeadResult res;
  res.start_logits = Tensor::uninitialized({B, L});
  res.end_logits = Tensor::uninitialized({B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i) {
      const float penalty = (i > 0 && i < batch.question_lengths[size_t(b)]) ? 1e6f : 0.0f;
      res.start_logits[b * L + i] = lg[(b * L + i) * 2] - penalty;
      res.end_logits[b * L + i] = lg[(b * L + i) * 2 + 1] - penalty;
    }
  if (!t.start_positions || !t.end_positions) return res;

  std::vector<int64_t> start(static_cast<size_t>(B)), end(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    start[size_t(b)] = std::clamp<int64_t>(t.start_positions[b], 0, L);
    end[size_t(b)] = std::clamp<int64_t>(t.end_positions[b], 0, L);
  }
  Tensor ds(res.start_logits.shape()), de(res.end_logits.shape());
  const bool back = dhidden != nullptr;
  const CrossEntropyResult cs =
      cross_entropy(res.start_logits.data(), B, L, start.data(), L, back ? ds.data() : nullptr, 0.5f * grad_scale);
  const CrossEntropyResult ce =
      cross_entropy(res.end_logits.data(), B, L, end.data(), L, back ? de.data() : nullptr, 0.5f * grad_scale);
  res.loss = (cs.loss + ce.loss) / 2.0;
  res.count = cs.count;
  for (int64_t b = 0; b < B; ++b) {
    const float* sl = res.start_logits.data() + b * L;
    const float* el = res.end_logits.data() + b * L;
    const int64_t sa = std::max_element(sl, sl + L) - sl, ea = std::max_element(el, el + L) - el;
    if (start[size_t(b)] < L && sa == start[size_t(b)] && ea == end[size_t(b)]) ++res.correct;
  }
  if (!back) return res;

  Tensor dlg = Tensor::uninitialized({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    dlg[i * 2] = ds[i];  // the −1e6 penalty is a constant: gradients pass through unchanged
    dlg[i * 2 + 1] = de[i];
  }
  Tensor dx = Tensor::uninitialized({n, H});
  ops::linear_backward(dlg.data(), x.data(), w.qa_outputs_w, n, H, 2, dx.data(), grads->qa_outputs_w,
                       grads->qa_outputs_b);
  ops::layer_norm_backward(dx.data(), u.data(), w.qa_ln_g, eps, n, H, dx.data(), grads->qa_ln_g, grads->qa_ln_b);
  Tensor dh = dx.clone();  // the residual uses the un-dropped h
  dropout_backward(dx.data(), n * H, drop.head, key_out);
  Tensor dact = Tensor::uninitialized({n, I});
  ops::linear_backward(dx.data(), act.data(), w.qa_out_w, n, I, H, dact.data(), grads->qa_out_w, grads->qa_out_b);
  ops::activation_backward(c.hidden_act, pre.data(), dact.data(), dact.data(), n * I);
  Tensor dhd = Tensor::uninitialized({n, H});
  ops::linear_backward(dact.data(), hd.data(), w.qa_inter_w, n, H, I, dhd.data(), grads->qa_inter_w, grads->qa_inter_b);
  dropout_backward(dhd.data(), n * H, drop.head, key_in);
  for (int64_t i = 0; i < n * H; ++i) dh[i] += dhd[i];
  scatter_add_rows(dh, rows, H, *dhidden);
  return res;
}

}  // namespace bb::train
