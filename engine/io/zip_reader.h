#pragma once
// Read-only ZIP archive reader for PyTorch checkpoints (checkpoint-formats.md §2.2): central
// directory (ZIP64 included), stored entries served straight from the mapped file, deflated
// entries inflated with a bounded output size, CRC-32 verified. The archive is validated as it is
// opened: every entry's local header and data lie inside the file, before the central directory,
// without overlapping one another; names are unique; encrypted or multi-disk archives are refused.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/mapped_file.h"

namespace bb::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // first byte of the (compressed) data
};

class ZipArchive {
 public:
  explicit ZipArchive(std::shared_ptr<MappedFile> file);  // parses and validates; throws bb::Error

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<MappedFile>& file() const { return file_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }  // central-directory order
  const ZipEntry* find(const std::string& name) const;

  // The entry's bytes, CRC-checked. Stored entries point into the mapping (no copy; `scratch`
  // untouched); deflated ones are inflated into `scratch`. Errors name the archive and entry.
  std::span<const uint8_t> read(const ZipEntry& e, std::vector<uint8_t>& scratch) const;
  std::vector<uint8_t> read_copy(const ZipEntry& e) const;

 private:
  [[noreturn]] void fail(const std::string& message) const;
  void parse();

  std::shared_ptr<MappedFile> file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace bb::io
