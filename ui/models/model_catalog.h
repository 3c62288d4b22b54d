#pragma once
// Every model the studio can use, from three places: the Hugging Face hub cache (one entry per
// snapshot of models--org--name, shared with transformers), the studio's data directory
// ($XDG_DATA_HOME/bigbird-studio/models: imports and fine-tuning exports) and the model bundled
// with the app (absent in some builds). Deleting is refused outside those roots.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::ui {

enum class ModelSource { HfCache, Studio, Bundled };
const char* to_string(ModelSource s);

struct ModelEntry {
  ModelSource source = ModelSource::Studio;
  std::string name;      // "org/name" for the HF cache, the directory name otherwise
  std::string revision;  // HF: the ref pointing at the snapshot ("main") or the short commit
  std::string path;      // the directory a loader opens (a snapshot directory for the HF cache)
  std::string root;      // HF: the repo directory (models--org--name); else the directory itself
  uint64_t bytes = 0;    // files on disk (symlinks followed)
  bool hasConfig = false;
};

struct ModelRoots {
  std::string hfCache;                   // "" = skip
  std::string studioModels;              // "" = skip
  std::vector<std::string> bundledDirs;  // candidates; those without config.json are skipped
};

// The roots the app uses: hf_hub_cache_dir(), xdg app_data_dir()/models, the bundled candidates.
ModelRoots defaultModelRoots(const std::vector<std::string>& bundledDirs);
std::string studioModelsDir();

// Never throws: unreadable entries are skipped. HF entries first, then studio, then bundled.
std::vector<ModelEntry> scanModels(const ModelRoots& roots);

// Removes an HF snapshot (and its refs; the whole repo when it was the last snapshot, else the blobs
// no snapshot uses any more) or a studio model directory. Throws bb::Error for a bundled model or a
// path outside `roots`.
void deleteModel(const ModelEntry& entry, const ModelRoots& roots);

}  // namespace bb::ui
