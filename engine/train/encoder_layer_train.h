#pragma once
// One post-LN encoder layer for training (internal to encoder_train): forward with saved
// activations and the matching backward. Dropout sites per layer: 1 attention probabilities,
// 2 attention output, 3 FFN output; site 0 of "layer" -1 is the embeddings.
#include "engine/train/encoder_train.h"

namespace bb::train {

enum DropoutSite : uint64_t { kEmbeddingSite = 0, kAttentionProbSite = 1, kAttentionOutSite = 2, kFfnOutSite = 3 };

// x: layer input [rows, H]; y: output [rows, H] (may not alias x). acts is filled (allocated if empty).
void layer_train_forward(const BigBirdLayerWeights& w, const ModelConfig& c, const PaddedBatch& batch,
                         const attn::BlockPattern* pattern, int layer, const DropoutSettings& drop, const float* x,
                         LayerActivations& acts, float* y);

// Scratch of one layer backward, reused across layers.
struct LayerBackwardScratch {
  Tensor dx1, g, dff, dctx, dq, dk, dv;
  void allocate(int64_t rows, int64_t H, int64_t I);
};

// dy: gradient w.r.t. the layer output (destroyed); dx: gradient w.r.t. the layer input (written).
void layer_train_backward(const BigBirdLayerWeights& w, LayerGrads& g, const ModelConfig& c, const PaddedBatch& batch,
                          const attn::BlockPattern* pattern, int layer, const DropoutSettings& drop, const float* x,
                          const LayerActivations& acts, float* dy, float* dx, LayerBackwardScratch& s);

}  // namespace bb::train
