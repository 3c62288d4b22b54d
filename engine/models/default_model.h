#pragma once
// The bundled default model (resources/default-model: a small BigBird-RoBERTa MLM trained on Jane
// Austen with this engine, see its MODEL_CARD.md), used when no model is given.
#include <string>

namespace bb {

// resource_dir()/default-model (engine/core/resource_dir.h: $BIGBIRD_RESOURCES, the installed
// share/bigbird-studio, or the source tree). The directory may be missing (an install without it).
std::string default_model_dir();

// `dir` when non-empty; else the default model directory, or bb::Error naming it when it holds no
// config.json. `what` names the option in the error (e.g. "--model").
std::string model_dir_or_default(const std::string& dir, const std::string& what);

}  // namespace bb
