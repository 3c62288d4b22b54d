#pragma once
// Imports a checkpoint of any supported format (safetensors, PyTorch zip/legacy, TensorFlow, sharded)
// into the studio's models directory as an HF directory (config.json + model.safetensors + tokenizer
// files): loaded and checked by the engine's loader, saved with its dtypes kept. The result appears
// only once complete (written to a temporary directory, then renamed).
#include <string>

namespace bb::ui {

// `source`: a model directory or a checkpoint file with config.json beside it. Returns the new
// directory, `modelsDir`/<name> (name from the source; "-2", "-3", ... when taken). Throws bb::Error.
std::string importModel(const std::string& source, const std::string& modelsDir);

}  // namespace bb::ui
