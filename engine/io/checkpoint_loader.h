#pragma once
// One loader for every checkpoint format and model family: finds the weights (file, model
// directory, TF checkpoint, HF cache repo id), opens them with the matching reader, maps original
// TensorFlow names to HF names (bigbird-spec.md §8), checks every tensor the config implies
// (present, right shape), re-ties weights HF stores once, and returns fp32 parameters by HF name.
// Used by BigBirdModel::load and meant for every model family (the config says which).
#include <map>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"  // DType
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb::io {

struct LoadReport {
  std::string format;                // "safetensors", "pytorch-zip", "tensorflow-bundle", "sharded ..."
  std::vector<std::string> files;    // what was read
  std::map<std::string, DType> stored_dtype;  // HF name -> dtype in the file (for saving back unchanged)
  std::vector<std::string> tied;     // HF names filled from the tensor they are tied to
  std::vector<std::string> zero_filled;     // buffers HF initialises to zeros (final_logits_bias)
  std::vector<std::string> missing_optional;  // optional tensors absent (pooler, ...)
  std::vector<std::string> unexpected;  // floating tensors the config does not use (loaded anyway)
  std::vector<std::string> skipped;     // not loaded: integer buffers, TF optimizer slots, unmapped TF names
  std::map<std::string, std::string> renamed;  // HF name -> source name, where they differ
};

struct LoadedCheckpoint {
  ParameterStore params;
  LoadReport report;
};

// `path`: a checkpoint file, a model directory, a TF prefix, or "org/name[@rev]" in the HF cache.
// Throws bb::Error naming the file, the tensor and the reason.
LoadedCheckpoint load_checkpoint_with_report(const std::string& path, const ModelConfig& config);
ParameterStore load_checkpoint(const std::string& path, const ModelConfig& config);

}  // namespace bb::io
