#pragma once
// What a fine-tuning run leaves in its output directory (engine/train/checkpoint.h): the
// checkpoints (checkpoints/step-N/, `latest`) and the final HF export (model/), and exporting any of
// them as a self-contained HF directory (config.json + model.safetensors + tokenizer).
#include <cstdint>
#include <string>
#include <vector>

namespace bb::ui {

struct CheckpointInfo {
  std::string name;  // step-00000006
  std::string dir;
  int64_t step = 0;
  uint64_t bytes = 0;
  bool latest = false;
};

// Oldest first; an absent directory gives an empty list. Never throws.
std::vector<CheckpointInfo> listCheckpoints(const std::string& outDir);

// Copies src/config.json and src/model.safetensors (a checkpoint or an export) plus the tokenizer
// file into dst (created; replaced files are written atomically). Throws bb::Error naming the file.
void exportModelDir(const std::string& src, const std::string& dst, const std::string& tokenizerPath);

}  // namespace bb::ui
