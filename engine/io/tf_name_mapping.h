#pragma once
// Original google-research/bigbird TensorFlow variable names -> HF parameter names
// (bigbird-spec.md §8): BigBird-RoBERTa / KoBigBird (`bert/...`, as HF's load_tf_weights_in_big_bird)
// and BigBird-Pegasus (`pegasus/...`, as HF's convert_bigbird_pegasus_tf_to_pytorch.py), with the
// layout change each tensor needs (TF kernels are [in, out]; 3-D attention kernels are per head).
// Optimizer slots, step counters and unknown scopes map to nothing and are skipped by the loader.
#include <optional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/config.h"

namespace bb::io {

enum class TfLayout {
  AsIs,       // embeddings, LayerNorm, biases
  Transpose,  // 2-D kernel [in, out] -> [out, in]
  HeadsIn,    // 3-D q/k/v kernel [H, heads, d] -> [heads*d, H]
  HeadsOut,   // 3-D attention-output kernel [heads, d, H] -> [H, heads*d]
};

struct TfMapping {
  std::vector<std::string> hf_names;  // usually one; Pegasus position embeddings feed two
  TfLayout layout = TfLayout::AsIs;
};

// nullopt: not a model weight (adam_m/adam_v, global_step, Adafactor slots, unknown scopes).
std::optional<TfMapping> map_tf_name(const std::string& tf_name, ModelFamily family);

// Applies the layout change and checks the result against the HF shape; errors name `what`.
Tensor apply_tf_layout(const Tensor& tf_value, TfLayout layout, const Shape& hf_shape, const std::string& what);

}  // namespace bb::io
