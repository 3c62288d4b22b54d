#include "engine/train/trainable_bigbird.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/random_weights.h"

namespace bb::train {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// N(0, std²) from a counter-based stream (Box-Muller), deterministic per (seed, name).
Tensor normal(const Shape& shape, double std, uint64_t seed, const std::string& name) {
  uint64_t key = splitmix(seed);
  for (char ch : name) key = splitmix(key ^ uint8_t(ch));
  Tensor t = Tensor::uninitialized(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u1 = (double(splitmix(key ^ uint64_t(2 * i)) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    const double u2 = double(splitmix(key ^ uint64_t(2 * i + 1)) >> 11) * (1.0 / 9007199254740992.0);
    t[i] = float(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return t;
}

Tensor constant(const Shape& shape, float v) {
  Tensor t = Tensor::uninitialized(shape);
  t.fill(v);
  return t;
}

std::string detect_prefix(const ParameterStore& p) {
  if (p.has("bert.embeddings.word_embeddings.weight")) return "bert.";
  if (p.has("embeddings.word_embeddings.weight")) return "";
  throw Error(p.source() + ": no BigBird embeddings found (expected 'bert.embeddings.word_embeddings.weight')");
}

float* grad(ParameterStore& g, const std::string& name) { return g.mutable_get(name).data(); }
const float* weight(const ParameterStore& p, const std::string& name, const Shape& shape) {
  return p.get(name, shape).data();
}

}  // namespace

TrainableBigBird::TrainableBigBird(ModelConfig config, ParameterStore loaded, Head head, uint64_t init_seed)
    : config_(std::move(config)), head_(head) {
  if (config_.family != ModelFamily::BigBird)
    throw Error("fine-tuning supports BigBird-RoBERTa / KoBigBird encoders; this is a " + config_.model_type +
                " checkpoint");
  if (head_ == Head::None) throw Error("training needs a head (mlm, cls or qa)");
  prefix_ = detect_prefix(loaded);
  const int64_t H = config_.hidden_size, I = config_.intermediate_size, V = config_.vocab_size;
  const double sigma = config_.initializer_range;

  // Own writable copies of everything the model uses; the tied decoder is dropped (it is the word
  // embedding matrix), other tensors (e.g. heads of another task) are carried along untouched.
  for (const std::string& name : loaded.names()) {
    if (name == "cls.predictions.decoder.weight" && config_.tie_word_embeddings) continue;
    if (name == "cls.predictions.decoder.bias") continue;  // always the same tensor as cls.predictions.bias
    // Mapped weights stay mapped: the mapping is private and writable, so updates copy pages on
    // write instead of duplicating the whole model up front.
    params_.set(name, std::move(loaded.mutable_get(name)));
  }
  params_.set_source(loaded.source());

  auto ensure_linear = [&](const std::string& base, int64_t out, int64_t in) {
    const std::string w = base + ".weight", b = base + ".bias";
    if (params_.has(w)) {
      if (params_.get(w).shape() != Shape{out, in})
        throw Error(params_.source() + ": tensor '" + w + "' has shape " + shape_to_string(params_.get(w).shape()) +
                    ", this task needs " + shape_to_string({out, in}) + " (a head trained for another label set?)");
    } else {
      params_.set(w, normal({out, in}, sigma, init_seed, w));
    }
    if (!params_.has(b)) params_.set(b, constant({out}, 0.0f));
  };
  auto ensure_ln = [&](const std::string& base) {
    if (!params_.has(base + ".weight")) params_.set(base + ".weight", constant({H}, 1.0f));
    if (!params_.has(base + ".bias")) params_.set(base + ".bias", constant({H}, 0.0f));
  };

  switch (head_) {
    case Head::MaskedLM:
      ensure_linear("cls.predictions.transform.dense", H, H);
      ensure_ln("cls.predictions.transform.LayerNorm");
      if (!params_.has("cls.predictions.bias")) params_.set("cls.predictions.bias", constant({V}, 0.0f));
      if (!config_.tie_word_embeddings && !params_.has("cls.predictions.decoder.weight"))
        params_.set("cls.predictions.decoder.weight", normal({V, H}, sigma, init_seed, "decoder"));
      break;
    case Head::SequenceClassification:
      num_labels_ = config_.num_labels();
      if (num_labels_ < 2) throw Error("classification needs at least 2 labels (regression is not supported)");
      ensure_linear("classifier.dense", H, H);
      ensure_linear("classifier.out_proj", num_labels_, H);
      break;
    case Head::QuestionAnswering:
      ensure_linear("qa_classifier.intermediate.dense", I, H);
      ensure_linear("qa_classifier.output.dense", H, I);
      ensure_ln("qa_classifier.output.LayerNorm");
      ensure_linear("qa_classifier.qa_outputs", 2, H);
      break;
    case Head::None:
      break;
  }

  // Parameters the loss never reaches: the pooler, and heads of other tasks carried along.
  for (const std::string& name : params_.names()) {
    const bool encoder = name.rfind(prefix_ + "embeddings.", 0) == 0 || name.rfind(prefix_ + "encoder.", 0) == 0;
    const bool mine = (head_ == Head::MaskedLM && name.rfind("cls.predictions.", 0) == 0) ||
                      (head_ == Head::SequenceClassification && name.rfind("classifier.", 0) == 0) ||
                      (head_ == Head::QuestionAnswering && name.rfind("qa_classifier.", 0) == 0);
    if (!encoder && !mine) unused_.insert(name);
  }
  for (const std::string& name : params_.names()) grads_.set(name, Tensor(params_.get(name).shape()));
  grads_.set_source("gradients");
  bind();
}

TrainableBigBird TrainableBigBird::load(const std::string& dir, Head head, uint64_t init_seed,
                                        const std::map<int, std::string>& id2label, bool allow_fresh) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a model directory");
  ModelConfig config = load_config((fs::path(dir) / "config.json").string());
  if (!id2label.empty()) config.id2label = id2label;
  const fs::path st = fs::path(dir) / "model.safetensors";
  if (!fs::exists(st) && allow_fresh) return fresh(std::move(config), head, init_seed, dir);
  if (!fs::exists(st)) throw Error(dir + ": no model.safetensors found");
  return TrainableBigBird(std::move(config), load_safetensors_parameters({st.string()}), head, init_seed);
}

TrainableBigBird TrainableBigBird::fresh(ModelConfig config, Head head, uint64_t init_seed, const std::string& source) {
  if (config.family != ModelFamily::BigBird) throw Error(source + ": fresh initialisation supports BigBird encoders only");
  ParameterStore p;
  const ParameterStore init = random_bigbird_mlm_parameters(config, init_seed);
  for (const std::string& name : init.names()) p.set(name, init.get(name).clone());
  Tensor& word = p.mutable_get("bert.embeddings.word_embeddings.weight");
  if (config.pad_token_id >= 0 && config.pad_token_id < config.vocab_size)
    std::fill_n(word.data() + config.pad_token_id * config.hidden_size, config.hidden_size, 0.0f);
  p.set_source(source + " (fresh random weights)");
  return TrainableBigBird(std::move(config), std::move(p), head, init_seed);
}

void TrainableBigBird::bind() {
  weights_ = bind_bigbird_encoder(params_, config_, prefix_);
  const int64_t H = config_.hidden_size, I = config_.intermediate_size, V = config_.vocab_size;
  ParameterStore& g = grads_;
  const std::string e = prefix_ + "embeddings.";
  encoder_grads_.word = grad(g, e + "word_embeddings.weight");
  encoder_grads_.position = grad(g, e + "position_embeddings.weight");
  encoder_grads_.token_type = grad(g, e + "token_type_embeddings.weight");
  encoder_grads_.emb_ln_g = grad(g, e + "LayerNorm.weight");
  encoder_grads_.emb_ln_b = grad(g, e + "LayerNorm.bias");
  encoder_grads_.layers.clear();
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    const std::string n = prefix_ + "encoder.layer." + std::to_string(l) + ".";
    LayerGrads L{};
    L.q_w = grad(g, n + "attention.self.query.weight");
    L.k_w = grad(g, n + "attention.self.key.weight");
    L.v_w = grad(g, n + "attention.self.value.weight");
    if (config_.use_bias) {
      L.q_b = grad(g, n + "attention.self.query.bias");
      L.k_b = grad(g, n + "attention.self.key.bias");
      L.v_b = grad(g, n + "attention.self.value.bias");
    }
    L.o_w = grad(g, n + "attention.output.dense.weight");
    L.o_b = grad(g, n + "attention.output.dense.bias");
    L.ln1_g = grad(g, n + "attention.output.LayerNorm.weight");
    L.ln1_b = grad(g, n + "attention.output.LayerNorm.bias");
    L.ff1_w = grad(g, n + "intermediate.dense.weight");
    L.ff1_b = grad(g, n + "intermediate.dense.bias");
    L.ff2_w = grad(g, n + "output.dense.weight");
    L.ff2_b = grad(g, n + "output.dense.bias");
    L.ln2_g = grad(g, n + "output.LayerNorm.weight");
    L.ln2_b = grad(g, n + "output.LayerNorm.bias");
    encoder_grads_.layers.push_back(L);
  }

  HeadWeights& w = head_weights_;
  HeadGrads& d = head_grads_;
  const ParameterStore& p = params_;
  switch (head_) {
    case Head::MaskedLM: {
      w.mlm_dense_w = weight(p, "cls.predictions.transform.dense.weight", {H, H});
      w.mlm_dense_b = weight(p, "cls.predictions.transform.dense.bias", {H});
      w.mlm_ln_g = weight(p, "cls.predictions.transform.LayerNorm.weight", {H});
      w.mlm_ln_b = weight(p, "cls.predictions.transform.LayerNorm.bias", {H});
      w.mlm_decoder_b = weight(p, "cls.predictions.bias", {V});
      const std::string dec =
          config_.tie_word_embeddings ? e + "word_embeddings.weight" : "cls.predictions.decoder.weight";
      w.mlm_decoder_w = weight(p, dec, {V, H});
      d.mlm_dense_w = grad(g, "cls.predictions.transform.dense.weight");
      d.mlm_dense_b = grad(g, "cls.predictions.transform.dense.bias");
      d.mlm_ln_g = grad(g, "cls.predictions.transform.LayerNorm.weight");
      d.mlm_ln_b = grad(g, "cls.predictions.transform.LayerNorm.bias");
      d.mlm_decoder_b = grad(g, "cls.predictions.bias");
      d.mlm_decoder_w = grad(g, dec);
      break;
    }
    case Head::SequenceClassification:
      w.cls_dense_w = weight(p, "classifier.dense.weight", {H, H});
      w.cls_dense_b = weight(p, "classifier.dense.bias", {H});
      w.cls_out_w = weight(p, "classifier.out_proj.weight", {num_labels_, H});
      w.cls_out_b = weight(p, "classifier.out_proj.bias", {num_labels_});
      d.cls_dense_w = grad(g, "classifier.dense.weight");
      d.cls_dense_b = grad(g, "classifier.dense.bias");
      d.cls_out_w = grad(g, "classifier.out_proj.weight");
      d.cls_out_b = grad(g, "classifier.out_proj.bias");
      break;
    case Head::QuestionAnswering:
      w.qa_inter_w = weight(p, "qa_classifier.intermediate.dense.weight", {I, H});
      w.qa_inter_b = weight(p, "qa_classifier.intermediate.dense.bias", {I});
      w.qa_out_w = weight(p, "qa_classifier.output.dense.weight", {H, I});
      w.qa_out_b = weight(p, "qa_classifier.output.dense.bias", {H});
      w.qa_ln_g = weight(p, "qa_classifier.output.LayerNorm.weight", {H});
      w.qa_ln_b = weight(p, "qa_classifier.output.LayerNorm.bias", {H});
      w.qa_outputs_w = weight(p, "qa_classifier.qa_outputs.weight", {2, H});
      w.qa_outputs_b = weight(p, "qa_classifier.qa_outputs.bias", {2});
      d.qa_inter_w = grad(g, "qa_classifier.intermediate.dense.weight");
      d.qa_inter_b = grad(g, "qa_classifier.intermediate.dense.bias");
      d.qa_out_w = grad(g, "qa_classifier.output.dense.weight");
      d.qa_out_b = grad(g, "qa_classifier.output.dense.bias");
      d.qa_ln_g = grad(g, "qa_classifier.output.LayerNorm.weight");
      d.qa_ln_b = grad(g, "qa_classifier.output.LayerNorm.bias");
      d.qa_outputs_w = grad(g, "qa_classifier.qa_outputs.weight");
      d.qa_outputs_b = grad(g, "qa_classifier.qa_outputs.bias");
      break;
    case Head::None:
      break;
  }
}

void TrainableBigBird::zero_grads() {
  prof::Scope scope("train: zero gradients");
  for (const std::string& name : grads_.names()) grads_.mutable_get(name).fill(0.0f);
}

std::string TrainableBigBird::architecture() const {
  switch (head_) {
    case Head::MaskedLM:
      return "BigBirdForMaskedLM";
    case Head::SequenceClassification:
      return "BigBirdForSequenceClassification";
    case Head::QuestionAnswering:
      return "BigBirdForQuestionAnswering";
    case Head::None:
      break;
  }
  return "BigBirdModel";
}

void TrainableBigBird::save_pretrained(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create directory (" + ec.message() + ")");
  ModelConfig c = config_;
  c.architectures = {architecture()};
  io::SafetensorsWriter w;
  for (const std::string& name : params_.names()) w.add(name, params_.get(name));
  w.write((fs::path(dir) / "model.safetensors").string());
  io::write_file_atomic((fs::path(dir) / "config.json").string(), config_to_json(c));
}

}  // namespace bb::train
