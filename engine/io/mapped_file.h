#pragma once
// A whole file mapped read-only-private into memory (or an in-memory buffer, for fuzzers and
// tests), shared by every tensor that points into it. Copy-on-write: zero-copy tensors may be
// modified in memory; the file itself is never written.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bb::io {

class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);  // throws bb::Error
  static std::shared_ptr<MappedFile> from_bytes(std::vector<uint8_t> bytes, std::string label);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_mapped() const { return mapped_; }

 private:
  MappedFile() = default;
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;
};

}  // namespace bb::io
