#pragma once
// Which checkpoint format a file is, from its first and last bytes (checkpoint-formats.md §0).
// Detection only: it says what a file claims to be; the format's reader validates it.
#include <string>

namespace bb::io {

enum class CheckpointFormat {
  Unknown,
  Safetensors,
  PyTorchZip,       // torch >= 1.6 default (a zip whose first entry is <archive>/data.pkl)
  PyTorchLegacy,    // torch < 1.6 pickle stream (any pickle protocol)
  PyTorchTar,       // torch <= 0.3 tar archive
  PyTorchPreview,   // "PYTORCH1": rejected even by torch
  TensorFlowIndex,  // TF tensor-bundle <prefix>.index (data lives in <prefix>.data-*)
};

const char* to_string(CheckpointFormat f);  // "safetensors", "pytorch-zip", ...
CheckpointFormat detect_checkpoint_format(const std::string& path);  // throws bb::Error if unreadable

}  // namespace bb::io
