#pragma once
// One seq2seq micro-batch through BigBird-Pegasus: validate and pad as HF does, encoder and decoder
// forward, the LM loss (torch CrossEntropyLoss, mean over labels != -100) and, for training, the
// backward accumulating every parameter gradient. HF semantics: without decoder_input_ids the
// decoder reads shift_tokens_right(labels) (decoder_start_token_id first, -100 -> pad).
// Dropout: the hidden dropout of the config ("dropout") when asked for (training); attention and
// activation dropout are not implemented and refused when the config sets them.
#include <cstdint>
#include <optional>

#include "engine/attention/plan.h"
#include "engine/core/tensor.h"
#include "engine/train/pegasus_train.h"
#include "engine/train/trainable_pegasus.h"

namespace bb::train {

struct Seq2SeqTrainBatch {
  I64Tensor input_ids;          // [batch, len]
  I64Tensor attention_mask;     // [batch, len] or empty (all ones)
  I64Tensor labels;             // [batch, tgt] (-100 ignored)
  I64Tensor decoder_input_ids;  // [batch, tgt] or empty (shift_tokens_right(labels))
};

struct Seq2SeqStepOptions {
  std::optional<attn::AttentionType> attention_type;  // default: the config's (HF fallback for short inputs)
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
  bool backward = true;      // false: loss only (evaluation, finite differences)
  float grad_scale = 1.0f;   // the loss gradient is multiplied by this (1 / accumulation steps)
  float dropout = 0.0f;      // hidden dropout probability (0: off, as for evaluation and gradient checks)
  uint64_t dropout_seed = 0, step = 0, micro_batch = 0;  // name every dropout mask
  bool keep_logits = false;  // return the logits [batch, tgt, V]
};

struct Seq2SeqStepResult {
  double loss = 0.0;
  int64_t count = 0;    // labelled target tokens
  int64_t correct = 0;  // of which argmax == label
  int64_t tokens = 0;   // real source + labelled target tokens (throughput)
  attn::AttentionDecision decision;
  Tensor logits;          // when keep_logits
  Tensor encoder_hidden;  // [batch, len, D] (parity tests)
};

Seq2SeqPadded prepare_seq2seq_batch(const ModelConfig& c, const Seq2SeqTrainBatch& b, const Seq2SeqStepOptions& o);

// Gradients accumulate into m.grads(): call m.zero_grads() before a new optimizer step.
Seq2SeqStepResult pegasus_forward_backward(TrainablePegasus& m, const Seq2SeqTrainBatch& b,
                                           const Seq2SeqStepOptions& o);

}  // namespace bb::train
