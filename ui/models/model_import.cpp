#include "ui/models/model_import.h"

#include <unistd.h>

#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/checkpoint_loader.h"
#include "engine/io/checkpoint_saver.h"
#include "engine/io/model_location.h"
#include "engine/models/config.h"

namespace bb::ui {

namespace fs = std::filesystem;

std::string importModel(const std::string& source, const std::string& modelsDir) {
  std::error_code ec;
  const io::ModelLocation loc = io::locate_model(source);
  if (loc.config.empty())
    throw Error(source + ": no config.json next to the weights; put the model's config.json beside them to import");
  const ModelConfig config = load_config(loc.config);
  io::LoadedCheckpoint ck = io::load_checkpoint_with_report(source, config);

  const fs::path src = fs::is_directory(source) ? fs::path(source) : fs::path(source).parent_path();
  std::string base = fs::weakly_canonical(src, ec).filename().string();
  if (base.empty() || base == "." || base == "/") base = "model";
  fs::create_directories(modelsDir, ec);
  if (ec) throw Error(modelsDir + ": cannot create (" + ec.message() + ")");
  fs::path dst = fs::path(modelsDir) / base;
  for (int n = 2; fs::exists(dst); ++n) dst = fs::path(modelsDir) / (base + "-" + std::to_string(n));

  const fs::path tmp = fs::path(modelsDir) / (dst.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  io::SaveOptions o;
  o.dtypes = ck.report.stored_dtype;
  o.copy_files = loc.tokenizer_files;
  try {
    io::save_pretrained(tmp.string(), config, ck.params, o);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::rename(tmp, dst, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    throw Error(dst.string() + ": cannot move the imported model into place");
  }
  return dst.string();
}

}  // namespace bb::ui
