#include "engine/models/default_model.h"

#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/resource_dir.h"

namespace bb {

std::string default_model_dir() { return resource_path("default-model"); }

std::string model_dir_or_default(const std::string& dir, const std::string& what) {
  if (!dir.empty()) return dir;
  const std::string fallback = default_model_dir();
  if (!std::filesystem::exists(std::filesystem::path(fallback) / "config.json"))
    throw Error("no " + what + " given and the bundled default model is missing (" + fallback + "/config.json)");
  return fallback;
}

}  // namespace bb
