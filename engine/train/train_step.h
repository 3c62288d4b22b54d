#pragma once
// One micro-batch through the model: pad as HF does, encoder forward (keeping what backward needs),
// the head's loss, and — for training — the backward pass accumulating every parameter gradient.
// This is what `bigbird grad`, the trainer and the evaluation loop call.
#include <cstdint>
#include <optional>

#include "engine/attention/plan.h"
#include "engine/core/tensor.h"
#include "engine/train/encoder_train.h"
#include "engine/train/heads_train.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::train {

struct TrainBatch {
  I64Tensor input_ids;        // [batch, len]
  I64Tensor attention_mask;   // [batch, len] or empty (all ones)
  I64Tensor token_type_ids;   // [batch, len] or empty (zeros; QA derives them from the question)
  I64Tensor labels;           // MLM [batch, len] (-100 ignored) or classification [batch]
  I64Tensor start_positions;  // QA [batch]
  I64Tensor end_positions;    // QA [batch]
};

struct StepOptions {
  std::optional<attn::AttentionType> attention_type;  // default: the config's (with HF's fallback)
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
  bool train = true;                // false: dropout off, no backward (evaluation)
  bool backward = true;             // train with backward = false: training-mode loss only (tests)
  float hidden_dropout = -1.0f;     // < 0: the config's hidden_dropout_prob
  float attention_dropout = -1.0f;  // < 0: the config's attention_probs_dropout_prob
  float head_dropout = -1.0f;       // < 0: classifier_dropout (cls, falls back to hidden) / hidden (QA)
  uint64_t dropout_seed = 0;        // with step and micro-batch index, names every dropout mask
  uint64_t step = 0, micro_batch = 0;
  bool gradient_checkpointing = false;
  float grad_scale = 1.0f;   // the loss gradient is multiplied by this (1 / accumulation steps)
  bool keep_logits = false;  // MLM: return the scored rows' logits
};

struct StepResult {
  HeadResult head;  // loss, counts, logits
  attn::AttentionDecision decision;
  int64_t tokens = 0;  // real (mask 1) tokens in the batch
  int64_t saved_activation_bytes = 0;
  Tensor last_hidden_state;  // [batch, len, H], only when asked (parity tests)
};

// The dropout probabilities and stream key of one micro-batch (all zero when !o.train); throws
// bb::Error for a probability outside [0, 1). The Vulkan trainer draws the same masks from it.
DropoutSettings dropout_settings(const TrainableBigBird& m, const StepOptions& o);

// Validates the batch against the model (ids, mask, types, label shapes) and pads it.
PaddedBatch prepare_batch(const TrainableBigBird& m, const TrainBatch& b, const StepOptions& o);

// Forward + loss (+ backward when o.train). Gradients accumulate into m.grads(): call
// m.zero_grads() before a new optimizer step.
StepResult forward_backward(TrainableBigBird& m, const TrainBatch& b, const StepOptions& o, bool want_hidden = false);

}  // namespace bb::train
