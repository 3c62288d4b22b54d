#pragma once
// Where a model's files are: a checkpoint file, a model directory (HF repo layout, a TF checkpoint
// directory or SavedModel), a TF checkpoint prefix, or a repo id ("org/name[@rev]") resolved in the
// Hugging Face cache. The weights are chosen as transformers does: model.safetensors, then the
// sharded safetensors index, then pytorch_model.bin (and its index), then TensorFlow.
#include <string>
#include <vector>

namespace bb::io {

struct ModelLocation {
  std::string dir;      // directory with config/tokenizer files ("" when unknown)
  std::string weights;  // file, *.index.json or TF prefix to open with open_tensor_source
  std::string config;   // config.json path, "" if there is none
  std::vector<std::string> tokenizer_files;  // those present, from kTokenizerFileNames
};

// Tokenizer and generation files copied along with a model (save, convert, pull).
extern const char* const kTokenizerFileNames[];
extern const size_t kTokenizerFileCount;

// Throws bb::Error naming the path and what was looked for.
ModelLocation locate_model(const std::string& path_or_repo);

}  // namespace bb::io
