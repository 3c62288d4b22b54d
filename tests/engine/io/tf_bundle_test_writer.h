#pragma once
// Writes small TensorFlow tensor bundles (<prefix>.index + data shards) for tests: the same
// byte layout TF's BundleWriter produces (checkpoint-formats.md §3), with options for snappy data
// blocks, several shards, big-endian data and partitioned (sliced) variables.
#include <snappy.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/io/crc32c.h"
#include "engine/io/tf_bundle.h"

namespace bb::testing {

struct TfTensorSpec {
  std::string key;
  int tf_dtype = 1;  // DT_FLOAT
  std::vector<int64_t> shape;
  std::string bytes;  // stored bytes (already in the bundle's byte order)
  int shard = 0;
  std::vector<io::TfSlice> slices;  // non-empty: `bytes` unused; each slice's data comes from slice_bytes
  std::vector<std::string> slice_bytes;
};

class TfBundleWriter {
 public:
  bool snappy = false;
  bool big_endian = false;
  int num_shards = 1;

  void add(TfTensorSpec t) { tensors_.push_back(std::move(t)); }
  void add_f32(const std::string& key, std::vector<int64_t> shape, const std::vector<float>& v) {
    TfTensorSpec t;
    t.key = key;
    t.shape = std::move(shape);
    t.bytes.assign(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    add(std::move(t));
  }

  // Writes prefix.index and prefix.data-0000i-of-0000n.
  void write(const std::string& prefix) const {
    std::vector<std::string> shards(static_cast<size_t>(num_shards));
    std::map<std::string, std::string> entries;  // key -> BundleEntryProto
    auto place = [&](const std::string& key, int dtype, const std::vector<int64_t>& shape, const std::string& data, int shard,
                     const std::vector<io::TfSlice>& slices) {
      std::string& s = shards[size_t(shard)];
      const uint64_t offset = s.size();
      s += data;
      std::string e;
      field_varint(e, 1, uint64_t(dtype));
      std::string shp;
      for (int64_t d : shape) {
        std::string dim;
        field_varint(dim, 1, uint64_t(d));
        field_bytes(shp, 2, dim);
      }
      field_bytes(e, 2, shp);
      if (slices.empty()) {
        if (shard) field_varint(e, 3, uint64_t(shard));
        if (offset) field_varint(e, 4, offset);
        field_varint(e, 5, data.size());
        e.push_back(char((6 << 3) | 5));
        const uint32_t crc = io::crc32c_mask(io::crc32c(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
        e.append(reinterpret_cast<const char*>(&crc), 4);
      }
      for (const io::TfSlice& sl : slices) {
        std::string sp;
        for (size_t d = 0; d < sl.start.size(); ++d) {
          std::string ext;
          if (sl.start[d]) field_varint(ext, 1, uint64_t(sl.start[d]));
          if (sl.length[d] >= 0) field_varint(ext, 2, uint64_t(sl.length[d]));
          field_bytes(sp, 1, ext);
        }
        field_bytes(e, 7, sp);
      }
      entries[key] = e;
    };
    for (const TfTensorSpec& t : tensors_) {
      if (t.slices.empty()) {
        place(t.key, t.tf_dtype, t.shape, t.bytes, t.shard, {});
        continue;
      }
      place(t.key, t.tf_dtype, t.shape, "", 0, t.slices);
      for (size_t i = 0; i < t.slices.size(); ++i) {
        std::vector<int64_t> part;
        for (size_t d = 0; d < t.shape.size(); ++d) part.push_back(t.slices[i].length[d] < 0 ? t.shape[d] : t.slices[i].length[d]);
        place(io::tf_slice_key(t.key, t.slices[i]), t.tf_dtype, part, t.slice_bytes[i], t.shard, {});
      }
    }
    std::string header;
    field_varint(header, 1, uint64_t(num_shards));
    if (big_endian) field_varint(header, 2, 1);
    std::string version;
    field_varint(version, 1, 1);
    field_bytes(header, 3, version);
    entries[""] = header;

    // Data block: every entry a restart point (shared = 0), which LevelDB readers accept.
    std::string block;
    std::vector<uint32_t> restarts;
    for (const auto& [k, v] : entries) {
      restarts.push_back(uint32_t(block.size()));
      varint(block, 0);
      varint(block, k.size());
      varint(block, v.size());
      block += k + v;
    }
    for (uint32_t r : restarts) block.append(reinterpret_cast<const char*>(&r), 4);
    const uint32_t nr = uint32_t(restarts.size());
    block.append(reinterpret_cast<const char*>(&nr), 4);

    std::string file;
    const auto [data_off, data_size] = append_block(file, block, snappy);
    const std::string empty("\0\0\0\0\1\0\0\0", 8);
    const auto [meta_off, meta_size] = append_block(file, empty, false);
    std::string index;
    const std::string sep = entries.rbegin()->first;
    std::string handle;
    varint(handle, data_off);
    varint(handle, data_size);
    index.push_back(0);
    varint(index, sep.size());
    varint(index, handle.size());
    index += sep + handle;
    const uint32_t zero = 0, one = 1;
    index.append(reinterpret_cast<const char*>(&zero), 4);
    index.append(reinterpret_cast<const char*>(&one), 4);
    const auto [index_off, index_size] = append_block(file, index, false);
    std::string footer;
    varint(footer, meta_off);
    varint(footer, meta_size);
    varint(footer, index_off);
    varint(footer, index_size);
    footer.resize(40, '\0');
    const uint64_t magic = 0xdb4775248b80fb57ull;
    footer.append(reinterpret_cast<const char*>(&magic), 8);
    file += footer;
    write_file(prefix + ".index", file);
    for (int i = 0; i < num_shards; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, ".data-%05d-of-%05d", i, num_shards);
      write_file(prefix + name, shards[size_t(i)]);
    }
  }

 private:
  static void varint(std::string& s, uint64_t v) {
    while (v >= 0x80) {
      s.push_back(char(v | 0x80));
      v >>= 7;
    }
    s.push_back(char(v));
  }
  static void field_varint(std::string& s, int field, uint64_t v) {
    varint(s, uint64_t(field) << 3);
    varint(s, v);
  }
  static void field_bytes(std::string& s, int field, const std::string& b) {
    varint(s, (uint64_t(field) << 3) | 2);
    varint(s, b.size());
    s += b;
  }
  static std::pair<uint64_t, uint64_t> append_block(std::string& file, const std::string& raw, bool compress) {
    std::string stored = raw;
    char type = 0;
    if (compress) {
      snappy::Compress(raw.data(), raw.size(), &stored);
      type = 1;
    }
    const uint64_t off = file.size();
    file += stored;
    file.push_back(type);
    const uint32_t crc = io::crc32c_mask(io::crc32c_extend(
        io::crc32c(reinterpret_cast<const uint8_t*>(stored.data()), stored.size()), reinterpret_cast<const uint8_t*>(&type), 1));
    file.append(reinterpret_cast<const char*>(&crc), 4);
    return {off, stored.size()};
  }
  static void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }

  std::vector<TfTensorSpec> tensors_;
};

}  // namespace bb::testing
