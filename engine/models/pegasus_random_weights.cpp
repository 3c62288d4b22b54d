#include "engine/models/pegasus_random_weights.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"

namespace bb {

ModelConfig pegasus_shape_config(const std::string& shape) {
  ModelConfig c = hf_default_config(ModelFamily::BigBirdPegasus);  // = bigbird-pegasus-large
  c.architectures = {"BigBirdPegasusForConditionalGeneration"};
  if (shape == "pegasus-large") return c;
  if (shape == "pegasus-tiny") {
    c.hidden_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 64;
    c.decoder_layers = 2;
    c.decoder_attention_heads = 4;
    c.decoder_ffn_dim = 64;
    return c;
  }
  throw Error("unknown BigBird-Pegasus shape '" + shape + "' (expected pegasus-large or pegasus-tiny)");
}

std::vector<std::pair<std::string, Shape>> pegasus_parameter_shapes(const ModelConfig& c) {
  const int64_t D = c.hidden_size, V = c.vocab_size, P = c.max_position_embeddings;
  std::vector<std::pair<std::string, Shape>> s;
  auto linear = [&](const std::string& n, int64_t out, int64_t in, bool bias) {
    s.push_back({n + ".weight", {out, in}});
    if (bias) s.push_back({n + ".bias", {out}});
  };
  auto norm = [&](const std::string& n) {
    s.push_back({n + ".weight", {D}});
    s.push_back({n + ".bias", {D}});
  };
  s.push_back({"final_logits_bias", {1, V}});
  s.push_back({"model.shared.weight", {V, D}});
  s.push_back({"model.encoder.embed_positions.weight", {P, D}});
  s.push_back({"model.decoder.embed_positions.weight", {P, D}});
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = "model.encoder.layers." + std::to_string(l) + ".";
    for (const char* p : {"query", "key", "value"}) linear(n + "self_attn.self." + p, D, D, c.use_bias);
    linear(n + "self_attn.output", D, D, c.use_bias);
    norm(n + "self_attn_layer_norm");
    linear(n + "fc1", c.intermediate_size, D, true);
    linear(n + "fc2", D, c.intermediate_size, true);
    norm(n + "final_layer_norm");
  }
  norm("model.encoder.layernorm_embedding");
  for (int l = 0; l < c.decoder_layers; ++l) {
    const std::string n = "model.decoder.layers." + std::to_string(l) + ".";
    for (const char* a : {"self_attn.", "encoder_attn."})
      for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) linear(n + a + p, D, D, c.use_bias);
    norm(n + "self_attn_layer_norm");
    norm(n + "encoder_attn_layer_norm");
    linear(n + "fc1", c.decoder_ffn_dim, D, true);
    linear(n + "fc2", D, c.decoder_ffn_dim, true);
    norm(n + "final_layer_norm");
  }
  norm("model.decoder.layernorm_embedding");
  return s;
}

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Tensor random_pegasus_tensor(const std::string& name, const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::uninitialized(shape);
  const int64_t n = t.numel();
  const bool norm = name.find("layer_norm") != std::string::npos || name.find("layernorm") != std::string::npos;
  if (norm || ends_with(name, ".bias") || name == "final_logits_bias") {
    t.fill(norm && ends_with(name, ".weight") ? 1.0f : 0.0f);
    return t;
  }
  const uint64_t key = splitmix(seed ^ name_hash(name));
  const float half_width = 0.02f * 1.7320508f;  // uniform(-a, a) has std a/sqrt(3)
  parallel_for(0, (n + 65535) / 65536, [&](int64_t chunk) {
    const int64_t b = chunk * 65536, e = std::min(n, b + 65536);
    for (int64_t i = b; i < e; ++i) {
      const uint64_t r = splitmix(key ^ (uint64_t(i) * 0xd1b54a32d192ed03ull));
      t[i] = (float(r >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * half_width;
    }
  });
  if (name == "model.shared.weight" && shape.size() == 2)  // the padding row is zero, as HF initialises it
    std::fill(t.data(), t.data() + shape[1], 0.0f);
  return t;
}

ParameterStore random_pegasus_parameters(const ModelConfig& c, uint64_t seed) {
  ParameterStore p;
  p.set_source("random BigBird-Pegasus weights");
  for (const auto& [name, shape] : pegasus_parameter_shapes(c)) p.set(name, random_pegasus_tensor(name, shape, seed));
  return p;
}

}  // namespace bb
