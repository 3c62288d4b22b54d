#pragma once
// Tiny BigBird models with random weights for the training tests (not HF's std-0.02 init, which makes
// attention nearly uniform and hides masking / indexing bugs).
#include <cmath>
#include <cstdint>
#include <string>

#include "engine/models/config.h"
#include "engine/models/parameters.h"
#include "engine/models/random_weights.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"

namespace bbtest {

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline float uniform_pm1(uint64_t seed, uint64_t i) {
  return float(mix64(seed ^ (i * 0x2545f4914f6cdd1dull)) >> 40) / 8388608.0f - 1.0f;
}

// hidden 16, 2 heads (head dim 8), FFN 32, vocab 40, block 4, r 1, 2 layers, max length 128.
inline bb::ModelConfig tiny_config() {
  bb::ModelConfig c;
  c.architectures = {"BigBirdForMaskedLM"};
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.max_position_embeddings = 128;
  c.block_size = 4;
  c.num_random_blocks = 1;
  c.sep_token_id = 3;
  c.pad_token_id = 0;
  c.hidden_dropout_prob = 0.0;
  c.attention_probs_dropout_prob = 0.0;
  return c;
}

// Refills every tensor with O(1) variations: LayerNorm 1 ± 0.2, biases ± 0.1, embeddings ± 0.8,
// matrices uniform with variance 2/fan_in.
inline void randomize_parameters(bb::ParameterStore& p, uint64_t seed) {
  uint64_t k = seed * 7919;
  for (const std::string& name : p.names()) {
    bb::Tensor& t = p.mutable_get(name);
    ++k;
    const bool ln = name.find("LayerNorm") != std::string::npos;
    const bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    const bool emb = name.find("embeddings") != std::string::npos;
    const float a = t.rank() == 2 ? std::sqrt(6.0f / float(t.dim(1))) : 0.0f;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float u = uniform_pm1(k, uint64_t(i));
      if (ln && !bias)
        t[i] = 1.0f + 0.2f * u;
      else if (bias)
        t[i] = 0.1f * u;
      else if (emb)
        t[i] = 0.8f * u;
      else
        t[i] = a * u;
    }
  }
}

inline bb::ParameterStore tiny_parameters(const bb::ModelConfig& c, uint64_t seed) {
  bb::ParameterStore p = bb::random_bigbird_mlm_parameters(c, seed);
  randomize_parameters(p, seed);
  return p;
}

// A tiny trainable model for `head` with every parameter (the new head's too) randomised.
inline bb::train::TrainableBigBird tiny_model(bb::Head head, uint64_t seed, int num_labels = 3) {
  bb::ModelConfig c = tiny_config();
  if (head == bb::Head::SequenceClassification)
    for (int i = 0; i < num_labels; ++i) c.id2label[i] = "L" + std::to_string(i);
  bb::train::TrainableBigBird m(c, tiny_parameters(c, seed), head, seed);
  randomize_parameters(m.params(), seed + 1);
  return m;
}

}  // namespace bbtest
