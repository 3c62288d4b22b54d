#include "engine/io/checkpoint_format.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace bb::io {

const char* to_string(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::Unknown: return "unknown";
    case CheckpointFormat::Safetensors: return "safetensors";
    case CheckpointFormat::PyTorchZip: return "pytorch-zip";
    case CheckpointFormat::PyTorchLegacy: return "pytorch-legacy";
    case CheckpointFormat::PyTorchTar: return "pytorch-tar";
    case CheckpointFormat::PyTorchPreview: return "pytorch-preview";
    case CheckpointFormat::TensorFlowIndex: return "tensorflow-index";
  }
  return "unknown";
}

namespace {

bool starts_with(const std::vector<uint8_t>& b, std::initializer_list<uint8_t> prefix, size_t at = 0) {
  if (b.size() < at + prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), b.begin() + long(at));
}

bool starts_with(const std::vector<uint8_t>& b, const char* text, size_t at = 0) {
  const size_t n = std::strlen(text);
  return b.size() >= at + n && std::memcmp(b.data() + at, text, n) == 0;
}

}  // namespace

CheckpointFormat detect_checkpoint_format(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw Error("cannot open " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) throw Error("cannot open " + path + ": not a regular file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    const int err = errno;
    throw Error("cannot open " + path + ": " + std::strerror(err ? err : ENOENT));
  }
  const auto size = uint64_t(in.tellg());
  std::vector<uint8_t> head(size_t(std::min<uint64_t>(size, 512))), tail(size_t(std::min<uint64_t>(size, 8)));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  in.seekg(std::streamoff(size - tail.size()));
  in.read(reinterpret_cast<char*>(tail.data()), std::streamsize(tail.size()));
  if (!in) throw Error("cannot read " + path + ": I/O error");

  if (size >= 9) {
    uint64_t n = 0;
    std::memcpy(&n, head.data(), 8);
    if (n <= kMaxSafetensorsHeader && 8 + n <= size && head[8] == '{') return CheckpointFormat::Safetensors;
  }
  if (starts_with(head, {0x50, 0x4B, 0x03, 0x04})) return CheckpointFormat::PyTorchZip;
  // The torch magic number 0x1950a86a20f9469cfc6c, pickled as LONG1 (protocols 2-3), after a FRAME
  // (protocols 4-5), or as a text LONG (protocol 1).
  static const std::initializer_list<uint8_t> kLong1Magic = {0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19};
  if ((starts_with(head, {0x80, 0x02}) || starts_with(head, {0x80, 0x03})) && starts_with(head, kLong1Magic, 2))
    return CheckpointFormat::PyTorchLegacy;
  if ((starts_with(head, {0x80, 0x04, 0x95}) || starts_with(head, {0x80, 0x05, 0x95})) && starts_with(head, kLong1Magic, 11))
    return CheckpointFormat::PyTorchLegacy;
  if (starts_with(head, "L119547037146038801333356L\n")) return CheckpointFormat::PyTorchLegacy;
  if (starts_with(head, "PYTORCH1")) return CheckpointFormat::PyTorchPreview;
  if (starts_with(head, "ustar", 257)) return CheckpointFormat::PyTorchTar;
  if (tail.size() == 8 && starts_with(tail, {0x57, 0xFB, 0x80, 0x8B, 0x24, 0x75, 0x47, 0xDB}))
    return CheckpointFormat::TensorFlowIndex;
  return CheckpointFormat::Unknown;
}

}  // namespace bb::io
