#include "engine/io/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/byte_cursor.h"
#include "engine/io/checksum_policy.h"
#include "engine/io/json_strict.h"

namespace bb::io {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kEocdSize = 22, kCentralSize = 46, kLocalSize = 30;
// Deflate cannot expand data more than about 1032:1; a larger claimed ratio is a lie (a bomb).
constexpr uint64_t kMaxDeflateRatio = 1032;

uint32_t zlib_crc32(std::span<const uint8_t> data) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    const uInt chunk = uInt(std::min<size_t>(n, UINT_MAX));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return uint32_t(crc);
}

}  // namespace

ZipArchive::ZipArchive(std::shared_ptr<MappedFile> file) : file_(std::move(file)) { parse(); }

void ZipArchive::fail(const std::string& message) const { throw Error(path() + ": " + message); }

void ZipArchive::parse() {
  const std::span<const uint8_t> all = file_->bytes();
  const size_t size = all.size();
  if (size < kEocdSize) fail("zip archive is " + std::to_string(size) + " bytes, too small to hold an end record");

  // 1. End of central directory: scan back over at most a 65535-byte comment.
  size_t eocd = SIZE_MAX;
  const size_t lowest = size >= kEocdSize + 0xFFFF ? size - kEocdSize - 0xFFFF : 0;
  for (size_t p = size - kEocdSize + 1; p-- > lowest;) {
    uint32_t sig;
    uint16_t comment_len;
    std::memcpy(&sig, all.data() + p, 4);
    std::memcpy(&comment_len, all.data() + p + 20, 2);
    if (sig == kEocdSig && p + kEocdSize + comment_len == size) {
      eocd = p;
      break;
    }
  }
  if (eocd == SIZE_MAX) fail("not a zip archive: no end-of-central-directory record (truncated file?)");

  ByteCursor c(all, path());
  c.seek(eocd + 4, "end record");
  const uint16_t disk = c.u16("disk number"), cd_disk = c.u16("central directory disk");
  c.u16("entries on this disk");
  uint64_t count = c.u16("entry count");
  uint64_t cd_size = c.u32("central directory size");
  uint64_t cd_offset = c.u32("central directory offset");
  if (disk != 0 || cd_disk != 0) fail("multi-disk zip archives are not supported");
  uint64_t cd_limit = eocd;  // the central directory must end before the end records

  // 2. ZIP64: the locator sits right before the classic end record (torch always writes one).
  if (eocd >= 20) {
    c.seek(eocd - 20, "zip64 locator");
    if (c.u32("zip64 locator signature") == kZip64LocatorSig) {
      c.u32("zip64 end record disk");
      const uint64_t z_off = c.u64("zip64 end record offset");
      if (z_off > eocd - 20 || eocd - 20 - z_off < 56) fail("zip64 end record offset " + std::to_string(z_off) + " is invalid");
      c.seek(size_t(z_off), "zip64 end record");
      if (c.u32("zip64 end record signature") != kZip64EocdSig) fail("zip64 end record signature is wrong");
      c.skip(8 + 2 + 2 + 4 + 4 + 8, "zip64 end record");
      const uint64_t count64 = c.u64("zip64 entry count");
      const uint64_t size64 = c.u64("zip64 central directory size");
      const uint64_t offset64 = c.u64("zip64 central directory offset");
      if (count == 0xFFFF) count = count64;
      if (cd_size == 0xFFFFFFFF) cd_size = size64;
      if (cd_offset == 0xFFFFFFFF) cd_offset = offset64;
      cd_limit = z_off;
    }
  }
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    fail("central directory [" + std::to_string(cd_offset) + ", +" + std::to_string(cd_size) +
         ") lies outside the file (truncated file?)");
  if (count > cd_size / kCentralSize)
    fail("end record claims " + std::to_string(count) + " entries, but the central directory holds at most " +
         std::to_string(cd_size / kCentralSize));

  // 3. Central directory entries.
  ByteCursor cd(all.subspan(size_t(cd_offset), size_t(cd_size)), path() + ": central directory");
  entries_.reserve(size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    if (cd.u32("entry signature") != kCentralSig) fail("central directory entry " + std::to_string(i) + " has a bad signature");
    ZipEntry e;
    cd.skip(4, "versions");
    e.flags = cd.u16("flags");
    e.method = cd.u16("method");
    cd.skip(4, "time");
    e.crc32 = cd.u32("crc32");
    e.compressed_size = cd.u32("compressed size");
    e.size = cd.u32("size");
    const uint16_t name_len = cd.u16("name length"), extra_len = cd.u16("extra length"), comment_len = cd.u16("comment length");
    const uint16_t start_disk = cd.u16("start disk");
    cd.skip(6, "attributes");
    e.local_header_offset = cd.u32("local header offset");
    e.name = std::string(cd.take_string(name_len, "entry name"));
    ByteCursor extra(cd.take(extra_len, "extra field"), path() + ": entry " + quote_for_message(e.name));
    while (extra.remaining() >= 4) {
      const uint16_t id = extra.u16("extra id"), len = extra.u16("extra length");
      ByteCursor field(extra.take(len, "extra field"), extra.label());
      if (id != 0x0001) continue;
      if (e.size == 0xFFFFFFFF) e.size = field.u64("zip64 size");
      if (e.compressed_size == 0xFFFFFFFF) e.compressed_size = field.u64("zip64 compressed size");
      if (e.local_header_offset == 0xFFFFFFFF) e.local_header_offset = field.u64("zip64 local header offset");
    }
    cd.skip(comment_len, "entry comment");
    const std::string q = quote_for_message(e.name);
    if (start_disk != 0 && start_disk != 0xFFFF) fail("entry " + q + " is on another disk");
    if (e.flags & 0x1) fail("entry " + q + " is encrypted");
    if (e.method != 0 && e.method != 8) fail("entry " + q + " uses compression method " + std::to_string(e.method) + " (only stored and deflate are supported)");
    if (e.method == 0 && e.compressed_size != e.size)
      fail("stored entry " + q + " has compressed size " + std::to_string(e.compressed_size) + " != size " + std::to_string(e.size));
    if (e.method == 8 && e.size / kMaxDeflateRatio > e.compressed_size + 1)
      fail("entry " + q + " claims " + std::to_string(e.size) + " bytes from " + std::to_string(e.compressed_size) +
           " compressed: more than deflate can produce");

    // The local header gives the real data offset (its extra field differs from the central one).
    if (e.local_header_offset > cd_offset || cd_offset - e.local_header_offset < kLocalSize)
      fail("entry " + q + ": local header offset " + std::to_string(e.local_header_offset) + " is outside the file data");
    c.seek(size_t(e.local_header_offset), "local header");
    if (c.u32("local header signature") != kLocalSig) fail("entry " + q + ": bad local header signature");
    c.seek(size_t(e.local_header_offset) + 26, "local header");
    const uint16_t lname = c.u16("local name length"), lextra = c.u16("local extra length");
    e.data_offset = e.local_header_offset + kLocalSize + lname + lextra;
    if (e.data_offset > cd_offset || e.compressed_size > cd_offset - e.data_offset)
      fail("entry " + q + ": data [" + std::to_string(e.data_offset) + ", +" + std::to_string(e.compressed_size) +
           ") runs past the start of the central directory (truncated or corrupt archive)");
    if (!index_.emplace(e.name, entries_.size()).second) fail("entry " + q + " appears twice");
    entries_.push_back(std::move(e));
  }

  // 4. No two entries may share bytes (overlapping entries are how zip bombs multiply data).
  std::vector<const ZipEntry*> by_offset;
  for (const ZipEntry& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const ZipEntry& prev = *by_offset[i - 1];
    if (prev.data_offset + prev.compressed_size > by_offset[i]->local_header_offset)
      fail("entries " + quote_for_message(prev.name) + " and " + quote_for_message(by_offset[i]->name) + " overlap");
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::span<const uint8_t> ZipArchive::read(const ZipEntry& e, std::vector<uint8_t>& scratch) const {
  const std::span<const uint8_t> raw = file_->bytes().subspan(size_t(e.data_offset), size_t(e.compressed_size));
  std::span<const uint8_t> out = raw;
  const std::string q = quote_for_message(e.name);
  if (e.method == 8) {
    scratch.assign(size_t(e.size), 0);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail("entry " + q + ": cannot start inflate");
    zs.next_in = const_cast<Bytef*>(raw.data());
    zs.next_out = scratch.data();
    size_t in_left = raw.size(), out_left = scratch.size();
    int rc = Z_OK;
    while (rc == Z_OK) {
      const uInt in_chunk = uInt(std::min<size_t>(in_left, UINT_MAX)), out_chunk = uInt(std::min<size_t>(out_left, UINT_MAX));
      zs.avail_in = in_chunk;
      zs.avail_out = out_chunk;
      rc = inflate(&zs, Z_NO_FLUSH);
      in_left -= in_chunk - zs.avail_in;
      out_left -= out_chunk - zs.avail_out;
      if (rc == Z_OK && zs.avail_in == in_chunk && zs.avail_out == out_chunk) rc = Z_BUF_ERROR;  // no progress
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_left != 0)
      fail("entry " + q + ": corrupt deflate data (inflated " + std::to_string(scratch.size() - out_left) + " of " +
           std::to_string(e.size) + " bytes)");
    out = scratch;
  }
  if (zlib_crc32(out) != e.crc32 && kRejectBadChecksums) fail("entry " + q + ": CRC-32 mismatch (corrupt data)");
  return out;
}

std::vector<uint8_t> ZipArchive::read_copy(const ZipEntry& e) const {
  std::vector<uint8_t> scratch;
  std::span<const uint8_t> s = read(e, scratch);
  if (s.data() == scratch.data()) return scratch;
  return {s.begin(), s.end()};
}

}  // namespace bb::io
