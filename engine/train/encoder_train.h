#pragma once
// The BigBird post-LN encoder for training: the same operations in the same order as
// run_bigbird_encoder (so with dropout off the hidden states are bit-identical to inference), plus
// the saved activations the backward needs, dropout, and the backward pass itself.
//
// Per layer the backward needs q, k, v, the attention context, both LayerNorm inputs, the FFN input
// and pre-activation; attention probabilities are never stored (recomputed tile by tile). With
// gradient checkpointing only each layer's input is kept and the layer is recomputed during backward
// (dropout masks are counter-based, so the recomputation draws the same masks).
#include <cstdint>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::train {

// The batch as the encoder sees it: padded to a block multiple for block_sparse (pad id, mask 0,
// type 0, positions continue), exactly as BigBirdModel::forward pads.
struct PaddedBatch {
  int64_t batch = 0, len = 0, padded = 0;  // len: caller's length; padded: P
  I64Tensor ids, types;                    // [batch, P]
  Tensor mask;                             // [batch, P] 1 real / 0 padding
  I64Tensor types_unpadded;                // [batch, len] as fed to the embeddings
  std::vector<int64_t> question_lengths;   // QA only
  attn::AttentionDecision decision;
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
};

struct DropoutSettings {
  float hidden = 0.0f;     // embeddings, attention output, FFN output (hidden_dropout_prob)
  float attention = 0.0f;  // attention probabilities, original_full only (attention_probs_dropout_prob)
  float head = 0.0f;       // classification / QA head dropout
  uint64_t stream = 0;     // per micro-batch key (dropout_key(seed, step, micro))
};

struct LayerActivations {
  Tensor q, k, v, ctx;  // [rows, H]
  Tensor ln1_in, x1;    // attention output + residual (LayerNorm 1 input), LayerNorm 1 output
  Tensor ff_pre;        // [rows, I] FFN pre-activation
  Tensor ln2_in;        // FFN output + residual (LayerNorm 2 input)
  void allocate(int64_t rows, int64_t H, int64_t I);
};

struct EncoderTrace {
  Tensor emb_ln_in;                          // [rows, H] embedding sum after dropout
  std::vector<Tensor> layer_inputs;          // layer_inputs[l] = input of layer l (rows x H)
  std::vector<LayerActivations> layers;      // one per layer without checkpointing; else empty
  std::vector<attn::BlockPattern> patterns;  // per layer (sparse only)
  Tensor hidden;                             // [batch, P, H] final output
  bool checkpointed = false;
};

// keep: "none" (evaluation: nothing saved), "all" activations, or "inputs" only (checkpointing).
enum class KeepActivations { None, All, LayerInputs };

void encoder_train_forward(const TrainableBigBird& m, const PaddedBatch& batch, const DropoutSettings& drop,
                           KeepActivations keep, EncoderTrace& trace);

// dhidden [batch*P, H] (destroyed). Accumulates every encoder parameter gradient.
void encoder_train_backward(TrainableBigBird& m, const PaddedBatch& batch, const DropoutSettings& drop,
                            EncoderTrace& trace, Tensor& dhidden);

// Bytes of activations a forward with `keep` holds for backward (for reports and the GUI's estimate).
int64_t saved_activation_bytes(const EncoderTrace& trace);

}  // namespace bb::train
