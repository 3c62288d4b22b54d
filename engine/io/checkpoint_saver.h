#pragma once
// Saves a model the way transformers' save_pretrained(safe_serialization=True) does, so HF
// from_pretrained and this engine load it: <dir>/model.safetensors (HF names, metadata
// {"format":"pt"}, tied copies omitted), <dir>/config.json and the tokenizer files. Every file is
// written atomically (temp file + rename): an interrupted save leaves the previous files intact.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"  // DType
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb::io {

struct SaveOptions {
  std::map<std::string, DType> dtypes;  // per tensor (F32, F16 or BF16); others are stored as F32
  std::optional<DType> dtype;           // all tensors (overrides `dtypes`)
  std::vector<std::string> copy_files;  // tokenizer / generation files to copy into the directory
};

struct SaveResult {
  std::vector<std::string> written;  // files, in the order they were committed
  std::vector<std::string> omitted_tied;
  size_t tensors = 0;
};

// Creates `dir` if needed. Throws bb::Error naming the file and the OS reason (disk full, ...).
SaveResult save_pretrained(const std::string& dir, const ModelConfig& config, const ParameterStore& params,
                           const SaveOptions& options = {});

}  // namespace bb::io
