#include "engine/train/trainable_pegasus.h"

#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint_loader.h"
#include "engine/io/model_location.h"
#include "engine/io/safetensors.h"

namespace bb::train {

TrainablePegasus::TrainablePegasus(ModelConfig config, ParameterStore loaded) : config_(std::move(config)) {
  if (config_.family != ModelFamily::BigBirdPegasus)
    throw Error(loaded.source() + ": summarization training needs a bigbird_pegasus model, this is " +
                config_.model_type);
  const bool untied_head = !config_.tie_word_embeddings && loaded.has("lm_head.weight");
  if (untied_head) throw Error(loaded.source() + ": an untied lm_head.weight is not supported for training");
  // One word-embedding tensor under its HF name.
  if (!loaded.has("model.shared.weight")) {
    for (const char* alias : {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"})
      if (loaded.has(alias)) {
        loaded.set("model.shared.weight", std::move(loaded.mutable_get(alias)));
        break;
      }
  }
  for (const std::string& name : loaded.names()) {
    if (name == "model.encoder.embed_tokens.weight" || name == "model.decoder.embed_tokens.weight" ||
        name == "lm_head.weight")
      continue;
    // Mapped weights stay mapped (private, writable mapping): pages are copied when first updated.
    params_.set(name, std::move(loaded.mutable_get(name)));
  }
  params_.set_source(loaded.source());
  weights_ = bind_pegasus(params_, config_);  // adds a zero final_logits_bias when absent
  for (const std::string& name : params_.names()) grads_.set(name, Tensor(params_.get(name).shape()));
  grads_.set_source("gradients");
  grads_bound_ = bind_pegasus(grads_, config_);
}

TrainablePegasus TrainablePegasus::load(const std::string& dir) {
  const io::ModelLocation loc = io::locate_model(dir);
  if (loc.config.empty()) throw Error(dir + ": no config.json next to the weights");
  ModelConfig config = load_config(loc.config);
  if (config.family != ModelFamily::BigBirdPegasus)
    throw Error(dir + ": config.json describes a " + config.model_type + " model, not bigbird_pegasus");
  ParameterStore params = io::load_checkpoint(dir, config);
  return TrainablePegasus(std::move(config), std::move(params));
}

const std::set<std::string>& TrainablePegasus::buffers() {
  static const std::set<std::string> names = {"final_logits_bias"};
  return names;
}

void TrainablePegasus::zero_grads() {
  for (const std::string& name : grads_.names()) grads_.mutable_get(name).fill(0.0f);
}

void TrainablePegasus::save_pretrained(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the directory (" + ec.message() + ")");
  ModelConfig c = config_;
  c.architectures = {"BigBirdPegasusForConditionalGeneration"};
  io::write_file_atomic(dir + "/config.json", config_to_json(c));
  io::SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (const std::string& name : params_.names()) w.add(name, params_.get(name));
  w.write(dir + "/model.safetensors");
}

}  // namespace bb::train
