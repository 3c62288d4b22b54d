#include "engine/io/tf_name_mapping.h"

#include <regex>

#include "engine/core/error.h"

namespace bb::io {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i - start));
    if (i == std::string::npos) return out;
    start = i + 1;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) s.replace(i, from.size(), to);
  return s;
}

bool is_3d_kernel_name(const std::string& name, bool* heads_in) {
  for (const char* q : {"attention/self/query/kernel", "attention/self/key/kernel", "attention/self/value/kernel"})
    if (ends_with(name, q)) return *heads_in = true;
  if (ends_with(name, "attention/output/dense/kernel")) {
    *heads_in = false;
    return true;
  }
  return false;
}

// HF load_tf_weights_in_big_bird, component by component, with the getattr() misses it skips
// (bert.pooler has no .dense; transform.dense / transform.LayerNorm are entered once).
std::optional<TfMapping> map_bert(std::string name) {
  name = replace_all(name, "bert/encoder/LayerNorm", "bert/embeddings/LayerNorm");
  const std::vector<std::string> parts = split(name, '/');
  for (const std::string& p : parts)
    if (p == "adam_v" || p == "adam_m" || p == "AdamWeightDecayOptimizer" || p == "AdamWeightDecayOptimizer_1" ||
        p == "global_step")
      return std::nullopt;
  if (parts.empty() || (parts[0] != "bert" && parts[0] != "cls")) return std::nullopt;
  static const std::regex indexed("([A-Za-z]+)_(\\d+)");
  const bool has_kernel_or_bias = name.find("/kernel") != std::string::npos || ends_with(name, "/bias");
  std::vector<std::string> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    std::smatch m;
    if (std::regex_match(p, m, indexed)) {
      out.push_back(m[1]);
      out.push_back(m[2]);
    } else if (p == "kernel" || p == "gamma" || p == "output_weights") {
      out.push_back("weight");
    } else if (p == "beta" || p == "output_bias") {
      out.push_back("bias");
    } else if (p == "squad") {
      out.push_back("classifier");
    } else if (p == "transform") {
      out.push_back("transform");
      out.push_back(has_kernel_or_bias ? "dense" : "LayerNorm");
      if (i + 1 < parts.size() && (parts[i + 1] == "dense" || parts[i + 1] == "LayerNorm")) ++i;
    } else if (p == "dense" && i >= 2 && parts[i - 1] == "pooler") {
      // bert.pooler is a bare Linear
    } else {
      out.push_back(p);
    }
  }
  const std::string& last = parts.back();
  if (ends_with(last, "_embeddings") || last == "embeddings") out.push_back("weight");
  std::string hf;
  for (const std::string& o : out) hf += (hf.empty() ? "" : ".") + o;
  TfMapping m;
  m.hf_names = {hf};
  m.layout = last == "kernel" ? TfLayout::Transpose : TfLayout::AsIs;
  bool heads_in = false;
  if (m.layout == TfLayout::Transpose && is_3d_kernel_name(name, &heads_in)) m.layout = heads_in ? TfLayout::HeadsIn : TfLayout::HeadsOut;
  return m;
}

using Patterns = std::vector<std::pair<std::string, std::string>>;

// convert_bigbird_pegasus_tf_to_pytorch.py: ordered plain-text replacements.
std::optional<TfMapping> map_pegasus(const std::string& name) {
  static const Patterns kInit = {{"/", "."}, {"layer_", "layers."}, {"kernel", "weight"}, {"beta", "bias"}, {"gamma", "weight"}, {"pegasus", "model"}};
  static const Patterns kEnd = {{".output.dense", ".fc2"}, {"intermediate.LayerNorm", "final_layer_norm"}, {"intermediate.dense", "fc1"}};
  static const Patterns kDecoder = {{"attention.self.LayerNorm", "self_attn_layer_norm"}, {"attention.output.dense", "self_attn.out_proj"},
                                    {"attention.self", "self_attn"}, {"attention.encdec.LayerNorm", "encoder_attn_layer_norm"},
                                    {"attention.encdec_output.dense", "encoder_attn.out_proj"}, {"attention.encdec", "encoder_attn"},
                                    {"key", "k_proj"}, {"value", "v_proj"}, {"query", "q_proj"},
                                    {"decoder.LayerNorm", "decoder.layernorm_embedding"}};
  static const Patterns kRest = {{"embeddings.word_embeddings", "shared.weight"}, {"embeddings.position_embeddings", "embed_positions.weight"},
                                 {"attention.self.LayerNorm", "self_attn_layer_norm"}, {"attention.output.dense", "self_attn.output"},
                                 {"attention.self", "self_attn.self"}, {"encoder.LayerNorm", "encoder.layernorm_embedding"}};
  static const char* kIgnore[] = {"encdec/key/bias", "encdec/query/bias", "encdec/value/bias", "self/key/bias", "self/query/bias",
                                  "self/value/bias", "encdec_output/dense/bias", "attention/output/dense/bias"};
  if (name.rfind("pegasus/", 0) != 0 || name.find("global_step") != std::string::npos) return std::nullopt;
  // Optimizer slots of the fine-tuned checkpoints (Adafactor vr/vc, Adam m/v, momentum).
  for (const char* slot : {"adafactor", "Adafactor", "adam_m", "adam_v", "/Adam", "Momentum"})
    if (name.find(slot) != std::string::npos) return std::nullopt;
  for (const char* k : kIgnore)
    if (ends_with(name, k)) return std::nullopt;
  const bool decoder = name.rfind("pegasus/decoder", 0) == 0;
  std::string hf = name;
  for (const auto& [from, to] : kInit) hf = replace_all(hf, from, to);
  for (const auto& [from, to] : decoder ? kDecoder : kRest) hf = replace_all(hf, from, to);
  for (const auto& [from, to] : kEnd) hf = replace_all(hf, from, to);
  TfMapping m;
  if (hf == "model.embed_positions.weight") m.hf_names = {"model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"};
  else m.hf_names = {hf};
  for (const char* t : {"dense", "query", "key", "value"})
    if (name.find(t) != std::string::npos && ends_with(name, "kernel")) m.layout = TfLayout::Transpose;
  bool heads_in = false;
  if (m.layout == TfLayout::Transpose && is_3d_kernel_name(name, &heads_in)) m.layout = heads_in ? TfLayout::HeadsIn : TfLayout::HeadsOut;
  return m;
}

}  // namespace

std::optional<TfMapping> map_tf_name(const std::string& tf_name, ModelFamily family) {
  return family == ModelFamily::BigBirdPegasus ? map_pegasus(tf_name) : map_bert(tf_name);
}

Tensor apply_tf_layout(const Tensor& v, TfLayout layout, const Shape& want, const std::string& what) {
  auto mismatch = [&]() -> Error {
    return Error(what + ": TensorFlow shape " + shape_to_string(v.shape()) + " does not give the expected " +
                 shape_to_string(want));
  };
  if (layout == TfLayout::AsIs || (layout == TfLayout::Transpose && v.rank() < 2)) {
    if (v.shape() != want) throw mismatch();
    return v.clone();
  }
  if (want.size() != 2) throw mismatch();
  const int64_t out_dim = want[0], in_dim = want[1];
  Tensor r = Tensor::uninitialized(want);
  if (v.rank() == 2) {  // [in, out] -> [out, in]
    if (v.dim(0) != in_dim || v.dim(1) != out_dim) throw mismatch();
    for (int64_t i = 0; i < in_dim; ++i)
      for (int64_t o = 0; o < out_dim; ++o) r[o * in_dim + i] = v[i * out_dim + o];
    return r;
  }
  if (v.rank() != 3) throw mismatch();
  if (layout == TfLayout::HeadsIn) {  // [H, heads, d]: weight[h*d + j][i] = k[i][h][j]
    const int64_t H = v.dim(0), heads = v.dim(1), d = v.dim(2);
    if (H != in_dim || heads * d != out_dim) throw mismatch();
    for (int64_t i = 0; i < H; ++i)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < d; ++j) r[(h * d + j) * in_dim + i] = v[(i * heads + h) * d + j];
    return r;
  }
  if (layout == TfLayout::HeadsOut) {  // [heads, d, H]: weight[o][h*d + j] = k[h][j][o]
    const int64_t heads = v.dim(0), d = v.dim(1), H = v.dim(2);
    if (H != out_dim || heads * d != in_dim) throw mismatch();
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < d; ++j)
        for (int64_t o = 0; o < H; ++o) r[o * in_dim + h * d + j] = v[(h * d + j) * H + o];
    return r;
  }
  throw mismatch();
}

}  // namespace bb::io
