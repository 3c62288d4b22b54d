#pragma once
// LevelDB-format table as TensorFlow writes it for <prefix>.index (checkpoint-formats.md §3.2):
// footer, index block, data blocks (raw or snappy), restarts, prefix-compressed keys. Every block
// trailer's masked CRC-32C is verified; keys must be strictly increasing across the whole table.
// Index files are small (a few KB to a few hundred KB), so all entries are decoded on open.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"

namespace bb::io {

struct TableEntry {
  std::string key;
  std::string value;
};

// Decodes every (key, value) of the table in `file` (throws bb::Error naming the file).
std::vector<TableEntry> read_sstable(const MappedFile& file);

// Snappy block decompression with a bound: the claimed size must be one the input can produce.
std::vector<uint8_t> snappy_uncompress(std::span<const uint8_t> compressed, const std::string& what);

}  // namespace bb::io
