#pragma once
// Tiny BigBird-Pegasus models for the training tests: vocabulary 40, d 16, 2 heads, FFN 32, 2+2 layers,
// block 4, r 1, 64 positions, with O(1) random weights (not the std-0.02 init, which makes attention
// nearly uniform and hides masking / indexing bugs).
#include <cmath>
#include <cstdint>
#include <string>

#include "engine/models/config.h"
#include "engine/models/pegasus_random_weights.h"
#include "engine/train/trainable_pegasus.h"
#include "tests/engine/train/train_test_util.h"

namespace bbtest {

inline bb::ModelConfig tiny_pegasus_config(bool use_bias) {
  bb::ModelConfig c = bb::pegasus_shape_config("pegasus-tiny");
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_attention_heads = c.decoder_attention_heads = 2;
  c.intermediate_size = c.decoder_ffn_dim = 32;
  c.num_hidden_layers = c.decoder_layers = 2;
  c.block_size = 4;
  c.num_random_blocks = 1;
  c.max_position_embeddings = 64;
  c.use_bias = use_bias;
  c.pad_token_id = 0;
  c.eos_token_id = 1;
  c.decoder_start_token_id = 2;
  return c;
}

// LayerNorm 1 ± 0.2, biases ± 0.1, embeddings ± 0.8, matrices uniform with variance 2/fan_in.
inline bb::ParameterStore tiny_pegasus_parameters(const bb::ModelConfig& c, uint64_t seed) {
  bb::ParameterStore p = bb::random_pegasus_parameters(c, seed);
  uint64_t k = seed * 7919;
  for (const std::string& name : p.names()) {
    bb::Tensor& t = p.mutable_get(name);
    ++k;
    const bool bias = name == "final_logits_bias" || (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0);
    const bool ln = !bias && (name.find("layer_norm") != std::string::npos || name.find("layernorm") != std::string::npos);
    const bool emb = name.find("shared") != std::string::npos || name.find("embed_positions") != std::string::npos;
    const float a = t.rank() == 2 ? std::sqrt(6.0f / float(t.dim(1))) : 0.0f;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float u = uniform_pm1(k, uint64_t(i));
      t[i] = ln ? 1.0f + 0.2f * u : bias ? 0.1f * u : emb ? 0.8f * u : a * u;
    }
  }
  return p;
}

inline bb::train::TrainablePegasus tiny_pegasus(bool use_bias, uint64_t seed) {
  const bb::ModelConfig c = tiny_pegasus_config(use_bias);
  return bb::train::TrainablePegasus(c, tiny_pegasus_parameters(c, seed));
}

}  // namespace bbtest
