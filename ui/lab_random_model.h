#pragma once
// Writes a random-weight BigBird MLM checkpoint directory (config.json + model.safetensors) for
// tests and benchmarks that must not depend on the bundled model. With vocab_size 50358 it pairs
// with the bundled gpt2.model vocabulary.
#include <QString>

#include "engine/models/config.h"

namespace bb::ui {

// Throws bb::Error when the directory cannot be written.
void writeRandomModel(const QString& dir, const bb::ModelConfig& config, uint64_t seed = 1);

// bigbird_shape_config("tiny") with the gpt2.model vocabulary (50358) and the given position limit.
bb::ModelConfig tinyGpt2Config(int64_t maxPositions = 1024);

}  // namespace bb::ui
