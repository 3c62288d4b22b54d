#pragma once
// Loss heads for training, forward and backward, with HF's definitions (bigbird-spec.md §5):
//   MLM:  t = LN(act(W_t·h + b_t)); logits = t·Eᵀ + bias (E tied to the word embeddings);
//         CE over positions whose label != -100 (only those rows are computed: other rows add
//         nothing to the loss or to any gradient, as in TF's MaskedLMLayer gather).
//   cls:  logits = out_proj(dropout(act(dense(dropout(h[:,0]))))); CE over the batch.
//   QA:   x = LN(dropout(W_o·act(W_i·dropout(h) + b_i) + b_o) + h); logits = W_qa·x + b_qa;
//         question tokens except [CLS] get −1e6; loss = (CE(start) + CE(end)) / 2 with positions
//         clamped to [0, len] and ignore_index = len.
// hidden is the encoder output [batch, P, H]; dhidden (same shape) receives d(grad_scale·loss)
// when non-null, and the head's parameter gradients accumulate.
#include <cstdint>

#include "engine/core/tensor.h"
#include "engine/train/encoder_train.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::train {

// Dropout stream "layer" of the heads: masks dropout_key(stream, kHeadDropoutLayer, 0 | 1).
inline constexpr uint64_t kHeadDropoutLayer = 1000;

struct HeadTargets {
  const int64_t* mlm_labels = nullptr;       // [batch, len], -100 = ignored
  const int64_t* class_labels = nullptr;     // [batch]
  const int64_t* start_positions = nullptr;  // [batch]
  const int64_t* end_positions = nullptr;    // [batch]
};

struct HeadResult {
  double loss = 0.0;
  int64_t count = 0;                // labelled tokens (MLM), examples (cls, QA: start targets counted)
  int64_t correct = 0;              // argmax == label (MLM tokens, cls examples; QA: exact start and end)
  Tensor logits;                    // cls [batch, C]; MLM [n, V] only when keep_logits
  Tensor start_logits, end_logits;  // QA [batch, len], after question masking
};

// grads and dhidden are both null (evaluation) or both set (training).
HeadResult mlm_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                     const HeadTargets& t, float grad_scale, Tensor* dhidden, HeadGrads* grads,
                                     bool keep_logits = false);
HeadResult cls_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                     const HeadTargets& t, const DropoutSettings& drop, float grad_scale,
                                     Tensor* dhidden, HeadGrads* grads);
HeadResult qa_head_forward_backward(const TrainableBigBird& m, const PaddedBatch& batch, const Tensor& hidden,
                                    const HeadTargets& t, const DropoutSettings& drop, float grad_scale,
                                    Tensor* dhidden, HeadGrads* grads);

}  // namespace bb::train
