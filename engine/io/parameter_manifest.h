#pragma once
// The HF parameter names and shapes a config implies (BigBirdModel / ForMaskedLM / ForPreTraining /
// ForSequenceClassification / ForQuestionAnswering / ..., BigBirdPegasusModel /
// ForConditionalGeneration), so loaders can say which tensors are missing, mis-shaped or unexpected,
// and re-tie the weights HF stores only once (tied embeddings / LM heads).
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/config.h"

namespace bb::io {

struct ExpectedTensor {
  std::string name;
  Shape shape;
  bool optional = false;  // may be absent (pooler, tied copies, final_logits_bias)
  std::string tied_to;    // when absent, it is the same tensor as this one
  bool zeros_if_missing = false;  // a buffer HF initialises to zeros (Pegasus final_logits_bias)
};

struct ParameterManifest {
  std::string architecture;  // config.architectures[0], or the family's base model
  std::string prefix;        // "bert." / "" (BigBird) or "model." (Pegasus)
  std::vector<ExpectedTensor> tensors;
  std::vector<std::string> buffers;  // non-parameter names HF checkpoints may carry (position_ids)

  const ExpectedTensor* find(const std::string& name) const;
  bool is_buffer(const std::string& name) const;
  // A checkpoint name as this manifest spells it: HF head models save the BigBird encoder under
  // "bert.", BigBirdModel without it, and from_pretrained accepts either (base_model_prefix).
  std::string adapt(const std::string& name) const;
};

// Throws bb::Error for an architecture this engine does not model (naming it).
ParameterManifest expected_parameters(const ModelConfig& config);

}  // namespace bb::io
