// HF config.json <-> ModelConfig. Key names and defaults follow transformers'
// configuration_big_bird.py and configuration_bigbird_pegasus.py (bigbird-spec.md §1, §10).
#include "engine/models/config.h"

#include <cctype>
#include <climits>
#include <string>
#include <set>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_strict.h"

namespace bb {

using nlohmann::json;

Activation parse_activation(const std::string& s) {
  if (s == "gelu_new" || s == "gelu_pytorch_tanh") return Activation::GeluNew;
  if (s == "gelu_fast") return Activation::GeluFast;
  if (s == "gelu") return Activation::Gelu;
  if (s == "relu") return Activation::Relu;
  if (s == "tanh") return Activation::Tanh;
  throw Error("unknown activation " + io::quote_for_message(s) +
              " (expected gelu_new, gelu_fast, gelu_pytorch_tanh, gelu, relu or tanh)");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::GeluNew: return "gelu_new";
    case Activation::GeluFast: return "gelu_fast";
    case Activation::Gelu: return "gelu";
    case Activation::Relu: return "relu";
    case Activation::Tanh: return "tanh";
  }
  return "?";
}

ModelConfig hf_default_config(ModelFamily family) {
  ModelConfig c;
  c.family = family;
  if (family == ModelFamily::BigBird) {
    c.model_type = "big_bird";
    c.decoder_start_token_id = -1;  // BigBirdConfig has none
    return c;                       // the struct defaults are BigBirdConfig's
  }
  c.model_type = "bigbird_pegasus";
  c.vocab_size = 96103;
  c.hidden_size = 1024;
  c.num_hidden_layers = 16;
  c.num_attention_heads = 16;
  c.intermediate_size = 4096;
  c.decoder_layers = 16;
  c.decoder_attention_heads = 16;
  c.decoder_ffn_dim = 4096;
  c.hidden_act = Activation::GeluNew;
  c.max_position_embeddings = 4096;
  c.type_vocab_size = 0;
  c.layer_norm_eps = 1e-5;  // nn.LayerNorm default; BigBirdPegasusConfig has no layer_norm_eps
  c.use_bias = false;
  c.rescale_embeddings = true;
  c.hidden_dropout_prob = 0.1;
  c.attention_probs_dropout_prob = 0.0;
  c.activation_dropout = 0.0;
  c.classifier_dropout = 0.0;
  c.initializer_range = 0.02;
  c.pad_token_id = 0;
  c.bos_token_id = 2;
  c.eos_token_id = 1;
  c.sep_token_id = -1;
  c.decoder_start_token_id = 2;
  return c;
}

namespace {

constexpr int64_t kMaxSize = INT32_MAX;  // no dimension of a real model comes near; keeps products in range

// Reads typed keys from the config object, remembering which keys it consumed.
class KeyReader {
 public:
  KeyReader(const json& obj, std::string label) : obj_(obj), label_(std::move(label)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
    throw Error(label_ + ": key " + io::quote_for_message(key) + ": " + reason);
  }
  const json* get(const std::string& key) {
    auto it = obj_.find(key);
    if (it == obj_.end()) return nullptr;
    used_.insert(key);
    return &*it;
  }
  bool has(const std::string& key) const { return obj_.contains(key); }

  template <typename T>
  void integer(const std::string& key, T& out, int64_t lo, int64_t hi) {
    const json* v = get(key);
    if (!v) return;
    out = T(checked_integer(key, *v, lo, hi));
  }
  int64_t checked_integer(const std::string& key, const json& v, int64_t lo, int64_t hi) const {
    const std::string range = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v.is_number_integer()) fail(key, "expected " + range + ", got " + describe(v));
    const bool in_range = v.is_number_unsigned()
                              ? v.get<uint64_t>() <= uint64_t(hi) && (lo <= 0 || v.get<uint64_t>() >= uint64_t(lo))
                              : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
    if (!in_range) fail(key, "expected " + range + ", got " + v.dump());
    return v.get<int64_t>();
  }
  void number(const std::string& key, double& out, double lo, double hi, bool null_is_minus_one = false) {
    const json* v = get(key);
    if (!v) return;
    if (null_is_minus_one && v->is_null()) {
      out = -1;
      return;
    }
    if (!v->is_number()) fail(key, "expected a number, got " + describe(*v));
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi)) fail(key, "expected a number in [" + json(lo).dump() + ", " + json(hi).dump() + "], got " + v->dump());
    out = x;
  }
  void boolean(const std::string& key, bool& out) {
    const json* v = get(key);
    if (!v) return;
    if (!v->is_boolean()) fail(key, "expected true or false, got " + describe(*v));
    out = v->get<bool>();
  }
  bool string(const std::string& key, std::string& out) {
    const json* v = get(key);
    if (!v) return false;
    if (!v->is_string()) fail(key, "expected a string, got " + describe(*v));
    out = v->get<std::string>();
    return true;
  }
  // Token ids: an integer >= 0 or null (-1).
  void token_id(const std::string& key, int64_t& out) {
    const json* v = get(key);
    if (!v) return;
    if (v->is_null()) {
      out = -1;
      return;
    }
    if (v->is_array()) fail(key, "lists of token ids are not supported");
    out = checked_integer(key, *v, 0, kMaxSize);
  }

  static std::string describe(const json& v) {
    if (v.is_null()) return "null";
    std::string text = v.dump();
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    return std::string(v.type_name()) + " " + text;
  }

  // Everything not consumed, as JSON text.
  std::map<std::string, std::string> unused() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : obj_.items())
      if (!used_.count(k)) out[k] = v.dump();
    return out;
  }
 private:
  const json& obj_;
  std::string label_;
  std::set<std::string> used_;
};

attn::AttentionType parse_config_attention(KeyReader& r, attn::AttentionType def) {
  std::string s;
  if (!r.string("attention_type", s)) return def;
  if (s == "original_full") return attn::AttentionType::OriginalFull;
  if (s == "block_sparse") return attn::AttentionType::BlockSparse;
  if (s == "simulated_sparse") return attn::AttentionType::SimulatedSparse;
  r.fail("attention_type", "unknown attention type " + io::quote_for_message(s) +
                               " (expected original_full, block_sparse or simulated_sparse)");
}

Activation parse_config_activation(KeyReader& r, const std::string& key, Activation def) {
  std::string s;
  if (!r.string(key, s)) return def;
  try {
    return parse_activation(s);
  } catch (const Error& e) {
    r.fail(key, e.what());
  }
}

// An alias key that HF maps onto another attribute (Pegasus hidden_size -> d_model, ...): allowed
// when it agrees, kept verbatim in `extra`; a contradiction is an error rather than a silent pick.
void check_alias(const json& obj, KeyReader& r, const std::string& alias, const std::string& key, const json& value) {
  auto it = obj.find(alias);
  if (it == obj.end()) return;
  if (!it->is_number() || *it != value) r.fail(alias, "value " + it->dump() + " contradicts \"" + key + "\" = " + value.dump());
}

void parse_labels(KeyReader& r, ModelConfig& c) {
  if (const json* v = r.get("id2label"); v && !v->is_null()) {
    if (!v->is_object()) r.fail("id2label", "expected an object {\"0\": \"LABEL_0\", ...}, got " + KeyReader::describe(*v));
    for (const auto& [k, label] : v->items()) {
      size_t used = 0;
      long long id = -1;
      bool ok = !k.empty() && (std::isdigit(uint8_t(k[0])) != 0);
      if (ok) {
        try {
          id = std::stoll(k, &used);
        } catch (...) {
          ok = false;
        }
      }
      if (!ok || used != k.size() || id > kMaxSize)
        r.fail("id2label", "key " + io::quote_for_message(k) + " is not a non-negative integer");
      if (!label.is_string()) r.fail("id2label", "label of id " + k + " is not a string");
      c.id2label[int(id)] = label.get<std::string>();
    }
    int expect = 0;
    for (const auto& [id, label] : c.id2label)
      if (id != expect++) r.fail("id2label", "ids must be 0.." + std::to_string(c.id2label.size() - 1) +
                                                 ", but id " + std::to_string(expect - 1) + " is missing");
  }
  if (const json* v = r.get("num_labels")) {
    const int n = int(r.checked_integer("num_labels", *v, 1, 1 << 20));
    if (c.id2label.empty()) {
      for (int i = 0; i < n; ++i) c.id2label[i] = "LABEL_" + std::to_string(i);
    } else if (n != int(c.id2label.size())) {
      r.fail("num_labels", std::to_string(n) + " contradicts id2label with " + std::to_string(c.id2label.size()) + " labels");
    }
  }
}

void parse_bigbird(KeyReader& r, ModelConfig& c) {
  r.integer("hidden_size", c.hidden_size, 1, kMaxSize);
  r.integer("num_hidden_layers", c.num_hidden_layers, 1, 100000);
  r.integer("num_attention_heads", c.num_attention_heads, 1, kMaxSize);
  r.integer("intermediate_size", c.intermediate_size, 1, kMaxSize);
  r.integer("type_vocab_size", c.type_vocab_size, 1, kMaxSize);
  c.hidden_act = parse_config_activation(r, "hidden_act", c.hidden_act);
  r.number("layer_norm_eps", c.layer_norm_eps, 0, 1);
  if (c.layer_norm_eps <= 0) r.fail("layer_norm_eps", "must be positive");
  r.boolean("rescale_embeddings", c.rescale_embeddings);
  r.number("hidden_dropout_prob", c.hidden_dropout_prob, 0, 1);
  r.number("attention_probs_dropout_prob", c.attention_probs_dropout_prob, 0, 1);
  r.number("initializer_range", c.initializer_range, 0, 1e9);
}

void parse_pegasus(const json& obj, KeyReader& r, ModelConfig& c) {
  r.integer("d_model", c.hidden_size, 1, kMaxSize);
  r.integer("encoder_layers", c.num_hidden_layers, 1, 100000);
  r.integer("encoder_attention_heads", c.num_attention_heads, 1, kMaxSize);
  r.integer("encoder_ffn_dim", c.intermediate_size, 1, kMaxSize);
  r.integer("decoder_layers", c.decoder_layers, 1, 100000);
  r.integer("decoder_attention_heads", c.decoder_attention_heads, 1, kMaxSize);
  r.integer("decoder_ffn_dim", c.decoder_ffn_dim, 1, kMaxSize);
  c.hidden_act = parse_config_activation(r, "activation_function", c.hidden_act);
  r.boolean("scale_embedding", c.rescale_embeddings);
  r.number("dropout", c.hidden_dropout_prob, 0, 1);
  r.number("attention_dropout", c.attention_probs_dropout_prob, 0, 1);
  r.number("activation_dropout", c.activation_dropout, 0, 1);
  r.number("init_std", c.initializer_range, 0, 1e9);
  check_alias(obj, r, "hidden_size", "d_model", c.hidden_size);
  check_alias(obj, r, "num_attention_heads", "encoder_attention_heads", c.num_attention_heads);
  check_alias(obj, r, "num_hidden_layers", "encoder_layers", c.num_hidden_layers);
  check_alias(obj, r, "attention_probs_dropout_prob", "attention_dropout", c.attention_probs_dropout_prob);
}

void validate(const KeyReader& r, const ModelConfig& c) {
  const bool peg = c.family == ModelFamily::BigBirdPegasus;
  const std::string hidden_key = peg ? "d_model" : "hidden_size";
  const std::string heads_key = peg ? "encoder_attention_heads" : "num_attention_heads";
  if (c.hidden_size % c.num_attention_heads != 0)
    r.fail(hidden_key, std::to_string(c.hidden_size) + " is not divisible by " + heads_key + " = " +
                           std::to_string(c.num_attention_heads));
  if (peg && c.hidden_size % c.decoder_attention_heads != 0)
    r.fail(hidden_key, std::to_string(c.hidden_size) + " is not divisible by decoder_attention_heads = " +
                           std::to_string(c.decoder_attention_heads));
  const std::pair<const char*, int64_t> ids[] = {{"pad_token_id", c.pad_token_id},
                                                 {"bos_token_id", c.bos_token_id},
                                                 {"eos_token_id", c.eos_token_id},
                                                 {"sep_token_id", c.sep_token_id},
                                                 {"decoder_start_token_id", c.decoder_start_token_id}};
  for (const auto& [key, id] : ids)
    if (id >= c.vocab_size)
      r.fail(key, std::to_string(id) + " is outside the vocabulary (vocab_size = " + std::to_string(c.vocab_size) + ")");
}

}  // namespace

ModelConfig parse_config_json(const std::string& json_text, const std::string& label) {
  const json obj = io::parse_json_strict(json_text, label);
  if (!obj.is_object()) throw Error(label + ": config.json must be a JSON object, got " + std::string(obj.type_name()));
  KeyReader r(obj, label);

  std::string model_type;
  if (!r.has("model_type")) throw Error(label + ": key \"model_type\" is missing (expected \"big_bird\" or \"bigbird_pegasus\")");
  r.string("model_type", model_type);
  ModelConfig c;
  if (model_type == "big_bird") {
    c = hf_default_config(ModelFamily::BigBird);
  } else if (model_type == "bigbird_pegasus") {
    c = hf_default_config(ModelFamily::BigBirdPegasus);
  } else {
    r.fail("model_type", io::quote_for_message(model_type) + " is not a BigBird model (expected \"big_bird\" or \"bigbird_pegasus\")");
  }

  if (const json* v = r.get("architectures"); v && !v->is_null()) {
    if (!v->is_array()) r.fail("architectures", "expected a list of class names, got " + KeyReader::describe(*v));
    for (const json& a : *v) {
      if (!a.is_string()) r.fail("architectures", "expected a list of class names, got an entry " + KeyReader::describe(a));
      c.architectures.push_back(a.get<std::string>());
    }
  }
  r.integer("vocab_size", c.vocab_size, 1, kMaxSize);
  r.integer("max_position_embeddings", c.max_position_embeddings, 1, kMaxSize);
  r.boolean("use_bias", c.use_bias);
  c.attention_type = parse_config_attention(r, c.attention_type);
  r.integer("block_size", c.block_size, 1, 1 << 20);
  r.integer("num_random_blocks", c.num_random_blocks, 0, 1 << 20);
  r.number("classifier_dropout", c.classifier_dropout, 0, 1, /*null_is_minus_one=*/true);
  r.boolean("tie_word_embeddings", c.tie_word_embeddings);
  r.token_id("pad_token_id", c.pad_token_id);
  r.token_id("bos_token_id", c.bos_token_id);
  r.token_id("eos_token_id", c.eos_token_id);
  r.token_id("sep_token_id", c.sep_token_id);
  r.token_id("decoder_start_token_id", c.decoder_start_token_id);
  if (c.family == ModelFamily::BigBird)
    parse_bigbird(r, c);
  else
    parse_pegasus(obj, r, c);
  parse_labels(r, c);
  validate(r, c);
  c.extra = r.unused();
  return c;
}

ModelConfig load_config(const std::string& path) { return parse_config_json(io::read_text_file(path), path); }

std::string config_to_json(const ModelConfig& c) {
  json j = json::object();
  for (const auto& [k, text] : c.extra) j[k] = json::parse(text);  // written by us or by parse: valid JSON
  const bool peg = c.family == ModelFamily::BigBirdPegasus;
  auto id_or_null = [](int64_t id) { return id < 0 ? json(nullptr) : json(id); };

  j["model_type"] = peg ? "bigbird_pegasus" : "big_bird";
  if (!c.architectures.empty()) j["architectures"] = c.architectures;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["use_bias"] = c.use_bias;
  j["attention_type"] = attn::to_string(c.attention_type);
  j["block_size"] = c.block_size;
  j["num_random_blocks"] = c.num_random_blocks;
  j["classifier_dropout"] = c.classifier_dropout < 0 ? json(nullptr) : json(c.classifier_dropout);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["pad_token_id"] = id_or_null(c.pad_token_id);
  j["bos_token_id"] = id_or_null(c.bos_token_id);
  j["eos_token_id"] = id_or_null(c.eos_token_id);
  if (!peg || c.sep_token_id >= 0) j["sep_token_id"] = id_or_null(c.sep_token_id);
  if (peg || c.decoder_start_token_id >= 0) j["decoder_start_token_id"] = id_or_null(c.decoder_start_token_id);
  if (peg) {
    j["d_model"] = c.hidden_size;
    j["encoder_layers"] = c.num_hidden_layers;
    j["encoder_attention_heads"] = c.num_attention_heads;
    j["encoder_ffn_dim"] = c.intermediate_size;
    j["decoder_layers"] = c.decoder_layers;
    j["decoder_attention_heads"] = c.decoder_attention_heads;
    j["decoder_ffn_dim"] = c.decoder_ffn_dim;
    j["activation_function"] = to_string(c.hidden_act);
    j["scale_embedding"] = c.rescale_embeddings;
    j["dropout"] = c.hidden_dropout_prob;
    j["attention_dropout"] = c.attention_probs_dropout_prob;
    j["activation_dropout"] = c.activation_dropout;
    j["init_std"] = c.initializer_range;
    // Aliases kept from the input must not contradict the values just written.
    if (j.contains("hidden_size")) j["hidden_size"] = c.hidden_size;
    if (j.contains("num_attention_heads")) j["num_attention_heads"] = c.num_attention_heads;
    if (j.contains("num_hidden_layers")) j["num_hidden_layers"] = c.num_hidden_layers;
    if (j.contains("attention_probs_dropout_prob")) j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  } else {
    j["hidden_size"] = c.hidden_size;
    j["num_hidden_layers"] = c.num_hidden_layers;
    j["num_attention_heads"] = c.num_attention_heads;
    j["intermediate_size"] = c.intermediate_size;
    j["type_vocab_size"] = c.type_vocab_size;
    j["hidden_act"] = to_string(c.hidden_act);
    j["layer_norm_eps"] = c.layer_norm_eps;
    j["rescale_embeddings"] = c.rescale_embeddings;
    j["hidden_dropout_prob"] = c.hidden_dropout_prob;
    j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
    j["initializer_range"] = c.initializer_range;
  }
  if (!c.id2label.empty()) {
    json id2label = json::object(), label2id = json::object();
    for (const auto& [id, label] : c.id2label) {
      id2label[std::to_string(id)] = label;
      label2id[label] = id;
    }
    j["id2label"] = id2label;
    if (!j.contains("label2id")) j["label2id"] = label2id;
  }
  return j.dump(2, ' ', /*ensure_ascii=*/true) + "\n";
}

}  // namespace bb
