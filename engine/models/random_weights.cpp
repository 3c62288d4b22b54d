#include "engine/models/random_weights.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"

namespace bb {

ModelConfig bigbird_shape_config(const std::string& shape) {
  ModelConfig c;
  c.architectures = {"BigBirdForMaskedLM"};
  if (shape == "base") return c;  // the defaults are bigbird-roberta-base
  if (shape == "large") {
    c.hidden_size = 1024;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 16;
    c.intermediate_size = 4096;
    return c;
  }
  if (shape == "tiny") {
    c.vocab_size = 128;
    c.hidden_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 128;
    c.max_position_embeddings = 1024;
    c.block_size = 16;
    return c;
  }
  throw Error("unknown model shape '" + shape + "' (expected base, large or tiny)");
}

namespace {

// splitmix64: a tiny, high-quality counter-based generator, so each tensor fills in parallel.
uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Tensor uniform(const Shape& shape, float std, uint64_t seed) {
  Tensor t = Tensor::uninitialized(shape);
  const float half_width = std * 1.7320508f;  // uniform(-a, a) has std a/sqrt(3)
  const int64_t n = t.numel();
  parallel_for(0, (n + 65535) / 65536, [&](int64_t chunk) {
    const int64_t b = chunk * 65536, e = std::min(n, b + 65536);
    for (int64_t i = b; i < e; ++i) {
      const uint64_t r = splitmix(seed ^ (uint64_t(i) * 0xd1b54a32d192ed03ull));
      t[i] = (float(r >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * half_width;
    }
  });
  return t;
}

Tensor constant(const Shape& shape, float value) {
  Tensor t = Tensor::uninitialized(shape);
  t.fill(value);
  return t;
}

}  // namespace

ParameterStore random_bigbird_mlm_parameters(const ModelConfig& c, uint64_t seed) {
  ParameterStore p;
  p.set_source("random weights");
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  uint64_t k = seed * 1000003ull;
  auto add_linear = [&](const std::string& name, int64_t out, int64_t in) {
    p.set(name + ".weight", uniform({out, in}, 0.02f, ++k));
    p.set(name + ".bias", constant({out}, 0.0f));
  };
  auto add_ln = [&](const std::string& name) {
    p.set(name + ".weight", constant({H}, 1.0f));
    p.set(name + ".bias", constant({H}, 0.0f));
  };
  p.set("bert.embeddings.word_embeddings.weight", uniform({V, H}, 0.02f, ++k));
  p.set("bert.embeddings.position_embeddings.weight", uniform({c.max_position_embeddings, H}, 0.02f, ++k));
  p.set("bert.embeddings.token_type_embeddings.weight", uniform({c.type_vocab_size, H}, 0.02f, ++k));
  add_ln("bert.embeddings.LayerNorm");
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = "bert.encoder.layer." + std::to_string(l) + ".";
    add_linear(n + "attention.self.query", H, H);
    add_linear(n + "attention.self.key", H, H);
    add_linear(n + "attention.self.value", H, H);
    add_linear(n + "attention.output.dense", H, H);
    add_ln(n + "attention.output.LayerNorm");
    add_linear(n + "intermediate.dense", I, H);
    add_linear(n + "output.dense", H, I);
    add_ln(n + "output.LayerNorm");
  }
  add_linear("bert.pooler", H, H);
  add_linear("cls.predictions.transform.dense", H, H);
  add_ln("cls.predictions.transform.LayerNorm");
  p.set("cls.predictions.bias", constant({V}, 0.0f));
  return p;
}

}  // namespace bb
