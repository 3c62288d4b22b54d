#pragma once
// A BigBird-Pegasus model being trained: owned, writable parameters (HF names), one gradient tensor
// per parameter with the same name and shape, and the models' weight layout bound over both.
// The word embeddings are one tensor, model.shared.weight, used by the encoder input, the decoder
// input and the LM head (HF ties them): its gradient receives all three contributions. Tied copies
// in a checkpoint (embed_tokens, lm_head) are dropped on load, as HF's save_pretrained leaves them out.
// final_logits_bias is a buffer in HF (register_buffer), not a parameter: it has no gradient and the
// optimizer never changes it (buffers()).
#include <set>
#include <string>

#include "engine/models/config.h"
#include "engine/models/parameters.h"
#include "engine/models/pegasus_weights.h"

namespace bb::train {

// Gradient pointers in the layout of PegasusWeights (null where the model has no such tensor).
struct PegasusGrads {
  PegasusWeights p;  // every pointer points into the gradient store
  static float* mut(const float* x) { return const_cast<float*>(x); }
};

class TrainablePegasus {
 public:
  // Throws bb::Error for a config that is not bigbird_pegasus or tensors of the wrong shape.
  TrainablePegasus(ModelConfig config, ParameterStore params);
  // A model directory (config.json + weights in any format the checkpoint loader reads).
  static TrainablePegasus load(const std::string& dir);

  TrainablePegasus(TrainablePegasus&&) = default;
  TrainablePegasus& operator=(TrainablePegasus&&) = default;

  const ModelConfig& config() const { return config_; }
  ParameterStore& params() { return params_; }
  const ParameterStore& params() const { return params_; }
  ParameterStore& grads() { return grads_; }
  const ParameterStore& grads() const { return grads_; }
  const PegasusWeights& weights() const { return weights_; }
  const PegasusWeights& grad_ptrs() const { return grads_bound_; }

  // HF buffers among params(): no gradient (their grads() entries stay zero), not optimized, not in `grad`.
  static const std::set<std::string>& buffers();

  void zero_grads();
  // config.json (architectures BigBirdPegasusForConditionalGeneration) + model.safetensors, both atomic.
  void save_pretrained(const std::string& dir) const;

 private:
  ModelConfig config_;
  ParameterStore params_, grads_;
  PegasusWeights weights_, grads_bound_;
};

}  // namespace bb::train
