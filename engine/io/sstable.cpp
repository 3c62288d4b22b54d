#include "engine/io/sstable.h"

#include <snappy.h>

#include <cstring>

#include "engine/core/error.h"
#include "engine/io/byte_cursor.h"
#include "engine/io/checksum_policy.h"
#include "engine/io/crc32c.h"
#include "engine/io/json_strict.h"

namespace bb::io {

namespace {

constexpr size_t kFooterSize = 48, kTrailerSize = 5;
constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
// One snappy copy element of 2-3 bytes yields at most 64 bytes; no input expands further.
constexpr uint64_t kMaxSnappyRatio = 32;

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

BlockHandle read_handle(ByteCursor& c, const char* what) {
  BlockHandle h;
  h.offset = c.varint64(what);
  h.size = c.varint64(what);
  return h;
}

// The block's contents with its trailer checked and snappy undone.
std::vector<uint8_t> read_block(const MappedFile& f, const BlockHandle& h, const std::string& what) {
  const std::string where = f.path() + ": " + what;
  if (h.offset > f.size() || h.size > f.size() - h.offset || f.size() - h.offset - h.size < kTrailerSize)
    throw Error(where + " [" + std::to_string(h.offset) + ", +" + std::to_string(h.size) + "] lies outside the " +
                std::to_string(f.size()) + "-byte file (truncated file?)");
  const uint8_t* p = f.data() + h.offset;
  const uint8_t type = p[h.size];
  uint32_t stored;
  std::memcpy(&stored, p + h.size + 1, 4);
  const uint32_t actual = crc32c_extend(crc32c(p, size_t(h.size)), &type, 1);
  if (kRejectBadChecksums && crc32c_unmask(stored) != actual) throw Error(where + ": block CRC-32C mismatch (corrupt file)");
  if (type == 0) return {p, p + h.size};
  if (type == 1) return snappy_uncompress({p, size_t(h.size)}, where);
  throw Error(where + ": unknown block compression type " + std::to_string(type));
}

// Calls fn(key, value) for every entry of a block, in order.
template <typename Fn>
void for_each_entry(const std::vector<uint8_t>& block, const std::string& where, Fn fn) {
  ByteCursor c(block, where);
  if (block.size() < 4) c.fail("block of " + std::to_string(block.size()) + " bytes is too small");
  c.seek(block.size() - 4, "restart count");
  const uint32_t restarts = c.u32("restart count");
  if (restarts == 0 || restarts > (block.size() - 4) / 4) c.fail("block claims " + std::to_string(restarts) + " restart points");
  const size_t limit = block.size() - 4 - size_t(restarts) * 4;
  c.seek(0, "block start");
  ByteCursor entries(std::span<const uint8_t>(block.data(), limit), where);
  std::string key;
  while (!entries.at_end()) {
    const uint32_t shared = entries.varint32("shared key length");
    const uint32_t unshared = entries.varint32("key length");
    const uint32_t value_len = entries.varint32("value length");
    if (shared > key.size()) entries.fail("entry shares " + std::to_string(shared) + " bytes of a " + std::to_string(key.size()) + "-byte key");
    key.resize(shared);
    key.append(entries.take_string(unshared, "key"));
    const std::string_view value = entries.take_string(value_len, "value");
    fn(key, value);
  }
}

}  // namespace

std::vector<uint8_t> snappy_uncompress(std::span<const uint8_t> in, const std::string& what) {
  size_t n = 0;
  const char* src = reinterpret_cast<const char*>(in.data());
  if (!snappy::GetUncompressedLength(src, in.size(), &n)) throw Error(what + ": corrupt snappy data (bad length header)");
  if (n > kMaxSnappyRatio * in.size() + 64)
    throw Error(what + ": snappy data claims " + std::to_string(n) + " bytes from " + std::to_string(in.size()) +
                ", more than it can encode");
  std::vector<uint8_t> out(n);
  if (!snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(out.data())))
    throw Error(what + ": corrupt snappy data");
  return out;
}

std::vector<TableEntry> read_sstable(const MappedFile& f) {
  const std::string& path = f.path();
  if (f.size() < kFooterSize)
    throw Error(path + ": " + std::to_string(f.size()) + " bytes is too small for a TensorFlow index (48-byte footer)");
  ByteCursor footer(f.bytes().subspan(f.size() - kFooterSize), path + ": footer");
  footer.seek(kFooterSize - 8, "magic");
  if (footer.u64("magic") != kTableMagic) throw Error(path + ": not a TensorFlow index (table magic missing)");
  footer.seek(0, "handles");
  read_handle(footer, "metaindex handle");
  const BlockHandle index = read_handle(footer, "index handle");

  std::vector<TableEntry> out;
  const std::vector<uint8_t> index_block = read_block(f, index, "index block");
  for_each_entry(index_block, path + ": index block", [&](const std::string& sep, std::string_view value) {
    ByteCursor hc({reinterpret_cast<const uint8_t*>(value.data()), value.size()}, path + ": index entry");
    const BlockHandle h = read_handle(hc, "block handle");
    if (h.offset > index.offset || h.size > index.offset - h.offset || index.offset - h.offset - h.size < kTrailerSize)
      hc.fail("data block [" + std::to_string(h.offset) + ", +" + std::to_string(h.size) + "] overlaps the index");
    const std::string what = "data block at " + std::to_string(h.offset);
    const std::vector<uint8_t> block = read_block(f, h, what);
    for_each_entry(block, path + ": " + what, [&](const std::string& key, std::string_view v) {
      if (!out.empty() && !(out.back().key < key))
        throw Error(path + ": key " + quote_for_message(key) + " is out of order (corrupt index)");
      if (key > sep) throw Error(path + ": key " + quote_for_message(key) + " lies beyond its index separator");
      out.push_back({key, std::string(v)});
    });
  });
  return out;
}

}  // namespace bb::io
