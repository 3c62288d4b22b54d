#pragma once
// What a model is, without loading its weights (the same sources `bigbird inspect` reads): format,
// architecture and shape from config.json, tensors, parameters, dtypes, bytes on disk, the tensors
// the config needs but the checkpoint lacks, and the memory to load it and to run one input at the
// model's full length.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bb::ui {

struct ModelDetails {
  std::string path, format, weights;
  std::string architecture, modelType;  // "" without a config.json
  int layers = 0, heads = 0, blockSize = 0, randomBlocks = 0;
  int64_t hidden = 0, vocab = 0, maxPositions = 0;
  std::string attentionType;
  size_t tensors = 0;
  int64_t parameters = 0;            // floating-point elements
  std::map<std::string, int> dtypes;
  uint64_t fileBytes = 0;
  uint64_t loadBytes = 0;            // fp32 weights in memory
  uint64_t inferenceBytes = 0;       // weights + activations of one full-length input
  std::vector<std::string> missing;  // needed by the config, absent (not checked for TF names)
  std::vector<std::string> tokenizerFiles;
  std::vector<std::string> notes;

  std::string text() const;  // a few lines for the details pane
};

// Throws bb::Error naming the file and the reason.
ModelDetails inspectModel(const std::string& path);

}  // namespace bb::ui
