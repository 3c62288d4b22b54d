#include "engine/train/train_step.h"

#include <algorithm>
#include <string>

#include "engine/core/error.h"
#include "engine/models/bigbird_heads.h"
#include "engine/models/bigbird_model.h"
#include "engine/train/dropout.h"

namespace bb::train {

namespace {

void check_shape(const I64Tensor& t, const Shape& want, const std::string& name) {
  if (t.shape() != want)
    throw Error(name + " has shape " + shape_to_string(t.shape()) + ", expected " + shape_to_string(want));
}

}  // namespace

DropoutSettings dropout_settings(const TrainableBigBird& m, const StepOptions& o) {
  const ModelConfig& c = m.config();
  DropoutSettings d;
  if (!o.train) return d;
  d.hidden = float(o.hidden_dropout >= 0 ? o.hidden_dropout : c.hidden_dropout_prob);
  d.attention = float(o.attention_dropout >= 0 ? o.attention_dropout : c.attention_probs_dropout_prob);
  if (o.head_dropout >= 0)
    d.head = o.head_dropout;
  else if (m.head() == Head::SequenceClassification && c.classifier_dropout >= 0)
    d.head = float(c.classifier_dropout);
  else
    d.head = d.hidden;
  for (float p : {d.hidden, d.attention, d.head})
    if (p < 0.0f || p >= 1.0f) throw Error("dropout probability " + std::to_string(p) + " must be in [0, 1)");
  d.stream = dropout_key(o.dropout_seed, o.step, o.micro_batch);
  return d;
}

PaddedBatch prepare_batch(const TrainableBigBird& m, const TrainBatch& in, const StepOptions& o) {
  const ModelConfig& c = m.config();
  EncoderInputs ei;  // reuse the inference validation of ids / mask / types
  ei.input_ids = in.input_ids.clone();
  if (!in.attention_mask.empty()) ei.attention_mask = in.attention_mask.clone();
  if (!in.token_type_ids.empty()) ei.token_type_ids = in.token_type_ids.clone();
  validate_encoder_inputs(ei, c);
  const int64_t B = in.input_ids.dim(0), L = in.input_ids.dim(1);
  switch (m.head()) {
    case Head::MaskedLM:
      if (!in.labels.empty()) check_shape(in.labels, {B, L}, "labels");
      break;
    case Head::SequenceClassification:
      if (!in.labels.empty()) check_shape(in.labels, {B}, "labels");
      break;
    case Head::QuestionAnswering:
      if (in.start_positions.empty() != in.end_positions.empty())
        throw Error("QA needs both start_positions and end_positions");
      if (!in.start_positions.empty()) {
        check_shape(in.start_positions, {B}, "start_positions");
        check_shape(in.end_positions, {B}, "end_positions");
      }
      break;
    case Head::None:
      break;
  }

  PaddedBatch p;
  p.batch = B;
  p.len = L;
  p.random_blocks = o.random_blocks;
  p.decision = attn::decide_attention(o.attention_type.value_or(c.attention_type), L, c.block_size, c.num_random_blocks,
                                      o.random_blocks);
  const int64_t P = p.padded = p.decision.padded_len;
  if (P > c.max_position_embeddings)
    throw Error("input of " + std::to_string(L) + " tokens" + (P != L ? " (padded to " + std::to_string(P) + ")" : "") +
                " is longer than max_position_embeddings = " + std::to_string(c.max_position_embeddings));
  if (m.head() == Head::QuestionAnswering)
    p.question_lengths = question_lengths(in.input_ids.data(), B, L, c.sep_token_id);
  p.types_unpadded = I64Tensor({B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      const int64_t i = b * L + t;
      if (!in.token_type_ids.empty())
        p.types_unpadded[i] = in.token_type_ids[i];
      else if (!p.question_lengths.empty())
        p.types_unpadded[i] = t < p.question_lengths[size_t(b)] ? 0 : 1;
    }
  for (int64_t i = 0; i < p.types_unpadded.numel(); ++i)
    if (p.types_unpadded[i] >= c.type_vocab_size) throw Error("derived token type exceeds type_vocab_size");
  p.ids = I64Tensor({B, P});
  p.types = I64Tensor({B, P});
  p.mask = Tensor({B, P});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < P; ++t) {
      const int64_t dst = b * P + t, src = b * L + t;
      const bool real = t < L;
      p.ids[dst] = real ? in.input_ids[src] : c.pad_token_id;
      p.types[dst] = real ? p.types_unpadded[src] : 0;
      p.mask[dst] = real ? (in.attention_mask.empty() ? 1.0f : float(in.attention_mask[src])) : 0.0f;
    }
  return p;
}

StepResult forward_backward(TrainableBigBird& m, const TrainBatch& in, const StepOptions& o, bool want_hidden) {
  const PaddedBatch batch = prepare_batch(m, in, o);
  const bool has_targets = m.head() == Head::QuestionAnswering ? !in.start_positions.empty() : !in.labels.empty();
  if (o.train && !has_targets)
    throw Error(m.head() == Head::QuestionAnswering ? "training QA needs start_positions and end_positions"
                                                    : "training needs labels");
  const DropoutSettings drop = dropout_settings(m, o);
  const bool backward = o.train && o.backward;
  const KeepActivations keep = !backward
                                   ? KeepActivations::None
                                   : (o.gradient_checkpointing ? KeepActivations::LayerInputs : KeepActivations::All);
  StepResult res;
  res.decision = batch.decision;
  for (int64_t i = 0; i < batch.mask.numel(); ++i) res.tokens += batch.mask[i] != 0.0f;

  EncoderTrace trace;
  encoder_train_forward(m, batch, drop, keep, trace);
  res.saved_activation_bytes = saved_activation_bytes(trace);
  if (want_hidden) {
    const int64_t H = m.config().hidden_size;
    res.last_hidden_state = Tensor::uninitialized({batch.batch, batch.len, H});
    for (int64_t b = 0; b < batch.batch; ++b)
      std::copy_n(trace.hidden.data() + b * batch.padded * H, batch.len * H,
                  res.last_hidden_state.data() + b * batch.len * H);
  }

  HeadTargets t;
  if (!in.labels.empty()) (m.head() == Head::MaskedLM ? t.mlm_labels : t.class_labels) = in.labels.data();
  if (!in.start_positions.empty()) {
    t.start_positions = in.start_positions.data();
    t.end_positions = in.end_positions.data();
  }
  Tensor dhidden;
  Tensor* dh = backward ? &dhidden : nullptr;
  HeadGrads grads = m.head_grads();
  HeadGrads* g = backward ? &grads : nullptr;
  switch (m.head()) {
    case Head::MaskedLM:
      res.head = mlm_head_forward_backward(m, batch, trace.hidden, t, o.grad_scale, dh, g, o.keep_logits);
      break;
    case Head::SequenceClassification:
      res.head = cls_head_forward_backward(m, batch, trace.hidden, t, drop, o.grad_scale, dh, g);
      break;
    case Head::QuestionAnswering:
      res.head = qa_head_forward_backward(m, batch, trace.hidden, t, drop, o.grad_scale, dh, g);
      break;
    case Head::None:
      throw Error("training needs a head");
  }
  if (backward) {
    trace.hidden = Tensor();
    dhidden = std::move(dhidden).reshaped({batch.batch * batch.padded, m.config().hidden_size});
    encoder_train_backward(m, batch, drop, trace, dhidden);
  }
  return res;
}

}  // namespace bb::train
