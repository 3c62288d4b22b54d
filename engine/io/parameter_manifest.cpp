#include "engine/io/parameter_manifest.h"

#include "engine/core/error.h"

namespace bb::io {

const ExpectedTensor* ParameterManifest::find(const std::string& name) const {
  for (const ExpectedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool ParameterManifest::is_buffer(const std::string& name) const {
  for (const std::string& b : buffers)
    if (b == name) return true;
  return false;
}

std::string ParameterManifest::adapt(const std::string& name) const {
  if (prefix == "model." || find(name)) return name;
  if (prefix.empty() && name.rfind("bert.", 0) == 0 && find(name.substr(5))) return name.substr(5);
  if (prefix == "bert." && (find("bert." + name) || is_buffer("bert." + name))) return "bert." + name;
  if (prefix.empty() && name.rfind("bert.", 0) == 0 && is_buffer(name.substr(5))) return name.substr(5);
  return name;
}

namespace {

struct Builder {
  ParameterManifest& m;
  void add(const std::string& name, Shape shape) { push(name, std::move(shape), false, ""); }
  void optional(const std::string& name, Shape shape) { push(name, std::move(shape), true, ""); }
  void tied(const std::string& name, Shape shape, const std::string& to) { push(name, std::move(shape), true, to); }
  void push(const std::string& name, Shape shape, bool optional, const std::string& to) {
    ExpectedTensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.optional = optional;
    t.tied_to = to;
    m.tensors.push_back(std::move(t));
  }
  void linear(const std::string& name, int64_t out, int64_t in, bool bias = true) {
    add(name + ".weight", {out, in});
    if (bias) add(name + ".bias", {out});
  }
  void layer_norm(const std::string& name, int64_t n) {
    add(name + ".weight", {n});
    add(name + ".bias", {n});
  }
};

void bigbird(const ModelConfig& c, const std::string& arch, ParameterManifest& m) {
  Builder b{m};
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const std::string p = arch == "BigBirdModel" ? "" : "bert.";
  m.prefix = p;
  b.add(p + "embeddings.word_embeddings.weight", {V, H});
  b.add(p + "embeddings.position_embeddings.weight", {c.max_position_embeddings, H});
  b.add(p + "embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  b.layer_norm(p + "embeddings.LayerNorm", H);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = p + "encoder.layer." + std::to_string(l) + ".";
    for (const char* q : {"query", "key", "value"}) b.linear(n + "attention.self." + q, H, H, c.use_bias);
    b.linear(n + "attention.output.dense", H, H);
    b.layer_norm(n + "attention.output.LayerNorm", H);
    b.linear(n + "intermediate.dense", I, H);
    b.linear(n + "output.dense", H, I);
    b.layer_norm(n + "output.LayerNorm", H);
  }
  b.optional(p + "pooler.weight", {H, H});
  b.optional(p + "pooler.bias", {H});
  m.buffers = {p + "embeddings.position_ids"};

  const bool mlm = arch == "BigBirdForMaskedLM" || arch == "BigBirdForPreTraining" || arch == "BigBirdForCausalLM";
  if (mlm) {
    b.linear("cls.predictions.transform.dense", H, H);
    b.layer_norm("cls.predictions.transform.LayerNorm", H);
    b.add("cls.predictions.bias", {V});
    b.tied("cls.predictions.decoder.weight", {V, H}, c.tie_word_embeddings ? p + "embeddings.word_embeddings.weight" : "");
    b.tied("cls.predictions.decoder.bias", {V}, "cls.predictions.bias");
    if (!c.tie_word_embeddings) m.tensors[m.tensors.size() - 2].optional = false;
  }
  if (arch == "BigBirdForPreTraining") b.linear("cls.seq_relationship", 2, H);
  if (arch == "BigBirdForSequenceClassification") {
    b.linear("classifier.dense", H, H);
    b.linear("classifier.out_proj", c.num_labels(), H);
  }
  if (arch == "BigBirdForTokenClassification") b.linear("classifier", c.num_labels(), H);
  if (arch == "BigBirdForMultipleChoice") b.linear("classifier", 1, H);
  if (arch == "BigBirdForQuestionAnswering") {
    b.linear("qa_classifier.intermediate.dense", I, H);
    b.linear("qa_classifier.output.dense", H, I);
    b.layer_norm("qa_classifier.output.LayerNorm", H);
    b.linear("qa_classifier.qa_outputs", 2, H);
  }
}

void pegasus(const ModelConfig& c, const std::string& arch, ParameterManifest& m) {
  Builder b{m};
  const int64_t D = c.hidden_size, V = c.vocab_size, P = c.max_position_embeddings;
  m.prefix = "model.";
  b.add("model.shared.weight", {V, D});
  b.tied("model.encoder.embed_tokens.weight", {V, D}, "model.shared.weight");
  b.tied("model.decoder.embed_tokens.weight", {V, D}, "model.shared.weight");
  b.add("model.encoder.embed_positions.weight", {P, D});
  b.add("model.decoder.embed_positions.weight", {P, D});
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = "model.encoder.layers." + std::to_string(l) + ".";
    for (const char* q : {"query", "key", "value"}) b.linear(n + "self_attn.self." + q, D, D, c.use_bias);
    b.linear(n + "self_attn.output", D, D, c.use_bias);
    b.layer_norm(n + "self_attn_layer_norm", D);
    b.linear(n + "fc1", c.intermediate_size, D);
    b.linear(n + "fc2", D, c.intermediate_size);
    b.layer_norm(n + "final_layer_norm", D);
  }
  b.layer_norm("model.encoder.layernorm_embedding", D);
  for (int l = 0; l < c.decoder_layers; ++l) {
    const std::string n = "model.decoder.layers." + std::to_string(l) + ".";
    for (const char* attn : {"self_attn", "encoder_attn"}) {
      for (const char* q : {"q_proj", "k_proj", "v_proj", "out_proj"}) b.linear(n + attn + "." + q, D, D, c.use_bias);
      b.layer_norm(n + attn + "_layer_norm", D);
    }
    b.linear(n + "fc1", c.decoder_ffn_dim, D);
    b.linear(n + "fc2", D, c.decoder_ffn_dim);
    b.layer_norm(n + "final_layer_norm", D);
  }
  b.layer_norm("model.decoder.layernorm_embedding", D);
  if (arch == "BigBirdPegasusForConditionalGeneration") {
    b.tied("lm_head.weight", {V, D}, c.tie_word_embeddings ? "model.shared.weight" : "");
    if (!c.tie_word_embeddings) m.tensors.back().optional = false;
    b.optional("final_logits_bias", {1, V});
    m.tensors.back().zeros_if_missing = true;
  }
  if (arch == "BigBirdPegasusForSequenceClassification") {
    b.linear("classification_head.dense", D, D);
    b.linear("classification_head.out_proj", c.num_labels(), D);
  }
  if (arch == "BigBirdPegasusForQuestionAnswering") b.linear("qa_outputs", 2, D);
}

}  // namespace

ParameterManifest expected_parameters(const ModelConfig& c) {
  ParameterManifest m;
  const bool peg = c.family == ModelFamily::BigBirdPegasus;
  m.architecture = c.architectures.empty() ? (peg ? "BigBirdPegasusModel" : "BigBirdModel") : c.architectures[0];
  static const char* kBigBird[] = {"BigBirdModel", "BigBirdForMaskedLM", "BigBirdForPreTraining", "BigBirdForCausalLM",
                                   "BigBirdForSequenceClassification", "BigBirdForTokenClassification",
                                   "BigBirdForMultipleChoice", "BigBirdForQuestionAnswering"};
  static const char* kPegasus[] = {"BigBirdPegasusModel", "BigBirdPegasusForConditionalGeneration",
                                   "BigBirdPegasusForSequenceClassification", "BigBirdPegasusForQuestionAnswering"};
  bool known = false;
  for (const char* a : kBigBird) known = known || (!peg && m.architecture == a);
  for (const char* a : kPegasus) known = known || (peg && m.architecture == a);
  if (!known)
    throw Error("unknown architecture \"" + m.architecture + "\" for model_type " + c.model_type +
                (peg ? " (expected BigBirdPegasusModel, BigBirdPegasusForConditionalGeneration, ...)"
                     : " (expected BigBirdModel, BigBirdForMaskedLM, BigBirdForPreTraining, ...)"));
  if (peg) pegasus(c, m.architecture, m);
  else bigbird(c, m.architecture, m);
  return m;
}

}  // namespace bb::io
