#include "engine/io/tf_bundle.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "engine/core/error.h"
#include "engine/io/byte_cursor.h"
#include "engine/io/checksum_policy.h"
#include "engine/io/crc32c.h"
#include "engine/io/dtype_convert.h"
#include "engine/io/json_strict.h"
#include "engine/io/protobuf_wire.h"
#include "engine/io/sstable.h"

namespace bb::io {

namespace {

constexpr int kDtString = 7;
constexpr int kMaxShards = 100000;
constexpr int kMaxRank = 64;
const char* const kObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";

struct TfType {
  int id;
  const char* name;
  bool supported;
  DType dtype;
};
constexpr TfType kTfTypes[] = {
    {1, "DT_FLOAT", true, DType::F32},      {2, "DT_DOUBLE", true, DType::F64},    {3, "DT_INT32", true, DType::I32},
    {4, "DT_UINT8", true, DType::U8},       {5, "DT_INT16", true, DType::I16},     {6, "DT_INT8", true, DType::I8},
    {7, "DT_STRING", false, DType::U8},     {8, "DT_COMPLEX64", false, DType::U8}, {9, "DT_INT64", true, DType::I64},
    {10, "DT_BOOL", true, DType::BOOL},     {14, "DT_BFLOAT16", true, DType::BF16}, {17, "DT_UINT16", true, DType::U16},
    {18, "DT_COMPLEX128", false, DType::U8}, {19, "DT_HALF", true, DType::F16},    {20, "DT_RESOURCE", false, DType::U8},
    {21, "DT_VARIANT", false, DType::U8},   {22, "DT_UINT32", true, DType::U32},   {23, "DT_UINT64", true, DType::U64},
};

const TfType* find_type(int id) {
  for (const auto& t : kTfTypes)
    if (t.id == id) return &t;
  return nullptr;
}

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// OrderedCode (tensorflow/core/lib/strings/ordered_code.cc), the parts slice keys use.
void write_num_increasing(std::string& out, uint64_t v) {
  uint8_t buf[8];
  int n = 0;
  while (v > 0) {
    buf[7 - n++] = uint8_t(v & 0xFF);
    v >>= 8;
  }
  out.push_back(char(n));
  out.append(reinterpret_cast<const char*>(buf + 8 - n), size_t(n));
}
void write_string(std::string& out, const std::string& s) {
  for (char c : s) {
    if (c == '\x00') out.append("\x00\xff", 2);
    else if (c == '\xff') out.append("\xff\x00", 2);
    else out.push_back(c);
  }
  out.append("\x00\x01", 2);
}
void write_signed_num_increasing(std::string& out, int64_t val) {
  static const uint8_t kHeader[11][2] = {{0, 0},       {0x80, 0},    {0xc0, 0}, {0xe0, 0}, {0xf0, 0},   {0xf8, 0},
                                         {0xfc, 0},    {0xfe, 0},    {0xff, 0}, {0xff, 0x80}, {0xff, 0xc0}};
  const uint64_t x = val < 0 ? ~uint64_t(val) : uint64_t(val);
  if (x < 64) {
    out.push_back(char(kHeader[1][0] ^ uint8_t(val)));
    return;
  }
  const int bits = 64 - __builtin_clzll(x);
  const int len = bits / 7 + 1;
  uint8_t buf[10];
  const uint8_t sign = val < 0 ? 0xff : 0x00;
  buf[0] = buf[1] = sign;
  for (int i = 0; i < 8; ++i) buf[2 + i] = uint8_t(uint64_t(val) >> (56 - 8 * i));
  uint8_t* begin = buf + 10 - len;
  begin[0] ^= kHeader[len][0];
  begin[1] ^= kHeader[len][1];
  out.append(reinterpret_cast<const char*>(begin), size_t(len));
}

TfSlice parse_slice(std::span<const uint8_t> bytes, const std::string& label) {
  TfSlice s;
  ProtoReader r(bytes, label);
  while (r.next()) {
    if (r.field() != 1) {
      r.skip();
      continue;
    }
    int64_t start = 0, length = -1;
    ProtoReader e(r.bytes(), label + " extent");
    while (e.next()) {
      if (e.field() == 1) start = e.int64();
      else if (e.field() == 2) length = e.int64();
      else e.skip();
    }
    s.start.push_back(start);
    s.length.push_back(length);
  }
  return s;
}

TfEntry parse_entry(const std::string& key, const std::string& value, const std::string& path) {
  TfEntry e;
  e.key = key;
  e.name = key;
  const std::string label = path + ": entry " + quote_for_message(key);
  ProtoReader r({reinterpret_cast<const uint8_t*>(value.data()), value.size()}, label);
  while (r.next()) {
    switch (r.field()) {
      case 1: e.tf_dtype = int(r.varint()); break;
      case 2: {
        ProtoReader shape(r.bytes(), label + " shape");
        while (shape.next()) {
          if (shape.field() == 2) {
            ProtoReader dim(shape.bytes(), label + " dim");
            int64_t size = 0;
            while (dim.next()) {
              if (dim.field() == 1) size = dim.int64();
              else dim.skip();
            }
            if (size < 0) shape.fail("dimension " + std::to_string(e.shape.size()) + " has unknown size " + std::to_string(size));
            if (e.shape.size() >= size_t(kMaxRank)) shape.fail("more than " + std::to_string(kMaxRank) + " dimensions");
            e.shape.push_back(size);
          } else if (shape.field() == 3) {
            if (shape.varint()) shape.fail("shape has unknown rank");
          } else {
            shape.skip();
          }
        }
        break;
      }
      case 3: {
        const int64_t s = r.int64();
        if (s < 0 || s >= kMaxShards) r.fail("shard id " + std::to_string(s) + " is out of range");
        e.shard = int32_t(s);
        break;
      }
      case 4: {
        const int64_t o = r.int64();
        if (o < 0) r.fail("negative offset");
        e.offset = uint64_t(o);
        break;
      }
      case 5: {
        const int64_t s = r.int64();
        if (s < 0) r.fail("negative size");
        e.size = uint64_t(s);
        break;
      }
      case 6: e.crc_masked = r.fixed32(); break;
      case 7: e.slices.push_back(parse_slice(r.bytes(), label + " slice")); break;
      default: r.skip();
    }
  }
  if (const TfType* t = find_type(e.tf_dtype)) {
    e.supported = t->supported;
    e.dtype = t->dtype;
  }
  return e;
}

}  // namespace

const char* tf_dtype_name(int tf_dtype) {
  if (const TfType* t = find_type(tf_dtype)) return t->name;
  return "DT_<unknown>";
}

std::string tf_slice_key(const std::string& name, const TfSlice& slice) {
  std::string key;
  write_num_increasing(key, 0);
  write_string(key, name);
  write_num_increasing(key, slice.start.size());
  for (size_t d = 0; d < slice.start.size(); ++d) {
    write_signed_num_increasing(key, slice.start[d]);
    write_signed_num_increasing(key, slice.length[d]);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<TfBundle> TfBundle::open(const std::string& path) {
  std::string prefix = path;
  if (prefix.size() > 6 && prefix.compare(prefix.size() - 6, 6, ".index") == 0) prefix.resize(prefix.size() - 6);
  if (!file_exists(prefix + ".index")) throw Error(path + ": no TensorFlow index " + prefix + ".index");
  std::unique_ptr<TfBundle> b(new TfBundle());
  b->prefix_ = prefix;
  b->parse(MappedFile::open(prefix + ".index"));
  return b;
}

std::unique_ptr<TfBundle> TfBundle::from_index_bytes(std::vector<uint8_t> bytes, const std::string& prefix,
                                                     std::optional<std::vector<uint8_t>> shard0) {
  std::unique_ptr<TfBundle> b(new TfBundle());
  b->prefix_ = prefix;
  if (shard0) b->shards_[0] = MappedFile::from_bytes(std::move(*shard0), prefix + ".data (in memory)");
  b->parse(MappedFile::from_bytes(std::move(bytes), prefix + ".index"));
  return b;
}

void TfBundle::parse(std::shared_ptr<MappedFile> index) {
  const std::string& path = index->path();
  const std::vector<TableEntry> table = read_sstable(*index);
  if (table.empty() || !table.front().key.empty()) throw Error(path + ": no bundle header (the \"\" key)");

  // BundleHeaderProto
  ProtoReader h({reinterpret_cast<const uint8_t*>(table[0].value.data()), table[0].value.size()}, path + ": header");
  int64_t shards = 1, endianness = 0;
  while (h.next()) {
    if (h.field() == 1) shards = h.int64();
    else if (h.field() == 2) endianness = h.int64();
    else if (h.field() == 3) {
      ProtoReader v(h.bytes(), path + ": header version");
      while (v.next()) {
        if (v.field() == 2 && v.int64() > 1) v.fail("written for a newer reader (min_consumer > 1)");
        else if (v.field() == 3 && v.int64() == 1) v.fail("this reader version is listed as a bad consumer");
        else if (v.field() != 2 && v.field() != 3) v.skip();
      }
    } else h.skip();
  }
  if (shards < 1 || shards > kMaxShards) h.fail("num_shards " + std::to_string(shards) + " is out of range");
  if (endianness != 0 && endianness != 1) h.fail("unknown endianness " + std::to_string(endianness));
  num_shards_ = int(shards);
  big_endian_ = endianness == 1;

  for (size_t i = 1; i < table.size(); ++i) {
    TfEntry e = parse_entry(table[i].key, table[i].value, path);
    if (e.shard >= num_shards_)
      throw Error(path + ": entry " + quote_for_message(e.key) + " is in shard " + std::to_string(e.shard) + " of " +
                  std::to_string(num_shards_));
    if (!e.key.empty() && e.key[0] == '\0') {  // a slice of a partitioned variable
      slice_entries_.emplace(e.key, std::move(e));
      continue;
    }
    by_key_[e.key] = entries_.size();
    entries_.push_back(std::move(e));
  }

  // Partitioned variables: every slice must be inside the variable and have its entry.
  for (const TfEntry& e : entries_) {
    const std::string where = path + ": partitioned variable " + quote_for_message(e.key);
    for (const TfSlice& s : e.slices) {
      if (s.start.size() != e.shape.size()) throw Error(where + ": slice rank differs from the variable's");
      for (size_t d = 0; d < e.shape.size(); ++d) {
        const int64_t len = s.length[d] < 0 ? e.shape[d] : s.length[d];
        if (s.start[d] < 0 || (s.length[d] < 0 && (s.length[d] != -1 || s.start[d] != 0)) || s.start[d] > e.shape[d] ||
            len > e.shape[d] - s.start[d])
          throw Error(where + ": slice extent " + std::to_string(s.start[d]) + "+" + std::to_string(s.length[d]) +
                      " is outside dimension " + std::to_string(d) + " of size " + std::to_string(e.shape[d]));
      }
      if (!slice_entries_.count(tf_slice_key(e.key, s))) throw Error(where + ": a slice has no entry in the index");
    }
  }

  apply_object_graph();
  for (size_t i = 0; i < entries_.size(); ++i) by_name_[entries_[i].name] = i;
  for (const TfEntry& e : entries_) {
    if (!e.supported) {
      others_.push_back(e.name + " (" + tf_dtype_name(e.tf_dtype) + ")");
      continue;
    }
    summary_.push_back({e.name, e.dtype, e.shape, e.slices.empty() ? shard_path(e.shard) : prefix_ + ".data-*"});
  }
  build_index();
}

// TF2: serve variables under the object graph's full_name (TF1-style) when that is unambiguous.
void TfBundle::apply_object_graph() {
  auto it = by_key_.find(kObjectGraphKey);
  if (it == by_key_.end()) return;
  has_object_graph_ = true;
  if (!missing_shards().empty()) return;  // index only: keep the checkpoint keys
  const std::vector<std::string> s = read_strings(kObjectGraphKey);
  if (s.size() != 1) throw Error(prefix_ + ": object graph holds " + std::to_string(s.size()) + " strings, expected 1");
  std::map<std::string, std::string> full_name;  // checkpoint key -> full name
  ProtoReader graph({reinterpret_cast<const uint8_t*>(s[0].data()), s[0].size()}, prefix_ + ": object graph");
  while (graph.next()) {
    if (graph.field() != 1) {
      graph.skip();
      continue;
    }
    ProtoReader node(graph.bytes(), graph.label());
    while (node.next()) {
      if (node.field() != 2) {
        node.skip();
        continue;
      }
      ProtoReader attr(node.bytes(), graph.label());
      std::string name, key;
      while (attr.next()) {
        if (attr.field() == 2) name = attr.string();
        else if (attr.field() == 3) key = attr.string();
        else attr.skip();
      }
      if (!key.empty() && !name.empty()) full_name[key] = name;
    }
  }
  std::map<std::string, int> uses;
  for (const TfEntry& e : entries_) {
    auto f = full_name.find(e.key);
    ++uses[f == full_name.end() ? e.key : f->second];
  }
  for (TfEntry& e : entries_) {
    auto f = full_name.find(e.key);
    if (f != full_name.end() && uses[f->second] == 1 && !by_key_.count(f->second)) e.name = f->second;
  }
}

std::string TfBundle::shard_path(int shard) const {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".data-%05d-of-%05d", shard, num_shards_);
  return prefix_ + suffix;
}

std::vector<std::string> TfBundle::files() const {
  std::vector<std::string> f{prefix_ + ".index"};
  for (int i = 0; i < num_shards_ && i < 16; ++i) f.push_back(shard_path(i));
  return f;
}

std::vector<std::string> TfBundle::missing_shards() const {
  std::vector<std::string> m;
  std::set<int> used;
  for (const TfEntry& e : entries_) used.insert(e.shard);
  for (const auto& [k, e] : slice_entries_) used.insert(e.shard);
  for (int s : used)
    if (!shards_.count(s) && !file_exists(shard_path(s))) m.push_back(shard_path(s));
  return m;
}

const TfEntry& TfBundle::entry(const std::string& name) const {
  if (auto n = by_name_.find(name); n != by_name_.end()) return entries_[n->second];
  auto it = by_key_.find(name);
  if (it != by_key_.end()) return entries_[it->second];
  throw Error(prefix_ + ": no tensor named " + quote_for_message(name));
}

std::span<const uint8_t> TfBundle::stored(const TfEntry& e, bool check_crc) const {
  const std::string where = prefix_ + ": tensor " + quote_for_message(e.name);
  auto& shard = shards_[e.shard];
  if (!shard) {
    const std::string p = shard_path(e.shard);
    if (!file_exists(p)) throw Error(where + ": data file " + p + " is missing");
    shard = MappedFile::open(p);
  }
  if (e.offset > shard->size() || e.size > shard->size() - e.offset)
    throw Error(where + ": bytes [" + std::to_string(e.offset) + ", +" + std::to_string(e.size) + ") lie outside " +
                shard->path() + " (" + std::to_string(shard->size()) + " bytes; truncated file?)");
  const std::span<const uint8_t> b = shard->bytes().subspan(size_t(e.offset), size_t(e.size));
  if (kRejectBadChecksums && check_crc && crc32c(b.data(), b.size()) != crc32c_unmask(e.crc_masked))
    throw Error(where + ": CRC-32C mismatch in " + shard->path() + " (corrupt data)");
  return b;
}

std::vector<uint8_t> TfBundle::read_plain(const TfEntry& e) const {
  const std::string what = prefix_ + ": tensor " + quote_for_message(e.name);
  if (!e.supported) throw Error(what + ": " + tf_dtype_name(e.tf_dtype) + " tensors are not supported");
  const uint64_t nbytes = tensor_bytes(e.dtype, e.shape, what);
  if (nbytes != e.size)
    throw Error(what + ": " + tf_dtype_name(e.tf_dtype) + " " + shape_to_string(e.shape) + " needs " +
                std::to_string(nbytes) + " bytes but the index says " + std::to_string(e.size));
  const std::span<const uint8_t> b = stored(e);
  std::vector<uint8_t> out(b.begin(), b.end());
  if (big_endian_) byteswap_elements(out.data(), out.size() / dtype_size(e.dtype), dtype_size(e.dtype));
  return out;
}

std::vector<uint8_t> TfBundle::read_bytes(const std::string& name) const {
  const TfEntry& e = entry(name);
  if (e.slices.empty()) return read_plain(e);

  const std::string what = prefix_ + ": partitioned variable " + quote_for_message(e.name);
  if (!e.supported) throw Error(what + ": " + tf_dtype_name(e.tf_dtype) + " tensors are not supported");
  const size_t itemsize = dtype_size(e.dtype);
  const uint64_t total = tensor_bytes(e.dtype, e.shape, what);
  const int64_t numel = shape_numel(e.shape);
  // Allocate only what the data files hold: the slices' stored bytes must add up to the variable.
  uint64_t stored_total = 0;
  for (const TfSlice& s : e.slices) {
    const TfEntry& part = slice_entries_.at(tf_slice_key(e.key, s));
    if (__builtin_add_overflow(stored_total, part.size, &stored_total)) throw Error(what + ": slice sizes overflow");
    stored(part, false);  // bounds only: the slice's bytes exist in its data file
  }
  if (stored_total != total)
    throw Error(what + ": slices store " + std::to_string(stored_total) + " bytes, but " + shape_to_string(e.shape) + " " +
                tf_dtype_name(e.tf_dtype) + " needs " + std::to_string(total));
  std::vector<uint8_t> out(static_cast<size_t>(total));
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> boxes;  // [lo, hi) per slice
  int64_t covered = 0;
  const size_t rank = e.shape.size();
  for (const TfSlice& s : e.slices) {
    TfEntry part = slice_entries_.at(tf_slice_key(e.key, s));
    part.name = e.name + " (slice)";
    std::vector<int64_t> lo(rank), hi(rank);
    Shape part_shape(rank);
    for (size_t d = 0; d < rank; ++d) {
      lo[d] = s.start[d];
      hi[d] = s.length[d] < 0 ? e.shape[d] : s.start[d] + s.length[d];
      part_shape[d] = hi[d] - lo[d];
    }
    for (const auto& [olo, ohi] : boxes) {
      bool overlap = true;
      for (size_t d = 0; d < rank; ++d) overlap = overlap && lo[d] < ohi[d] && olo[d] < hi[d];
      if (overlap && shape_numel(part_shape) > 0) throw Error(what + ": two slices overlap");
    }
    boxes.emplace_back(lo, hi);
    part.shape = part_shape;
    part.dtype = e.dtype;
    part.supported = e.supported;
    part.tf_dtype = e.tf_dtype;
    const std::vector<uint8_t> data = read_plain(part);
    const int64_t n = shape_numel(part_shape);
    covered += n;
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t dst = 0;
      for (size_t d = 0; d < rank; ++d) dst = dst * e.shape[d] + lo[d] + idx[d];
      std::memcpy(out.data() + size_t(dst) * itemsize, data.data() + size_t(i) * itemsize, itemsize);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < part_shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  if (covered != numel) throw Error(what + ": slices cover " + std::to_string(covered) + " of " + std::to_string(numel) + " elements");
  return out;
}

Tensor TfBundle::read_f32(const std::string& name) const {
  const TfEntry& e = entry(name);
  const std::vector<uint8_t> bytes = read_bytes(name);
  Tensor out = Tensor::uninitialized(e.shape);
  convert_to_f32(e.dtype, bytes.data(), out.numel(), out.data(), prefix_ + ": tensor " + quote_for_message(e.name));
  return out;
}

std::vector<std::string> TfBundle::read_strings(const std::string& name) const {
  const TfEntry& e = entry(name);
  const std::string what = prefix_ + ": tensor " + quote_for_message(e.name);
  if (e.tf_dtype != kDtString) throw Error(what + " is " + tf_dtype_name(e.tf_dtype) + ", not DT_STRING");
  // The entry's CRC covers the lengths as fixed-width integers, not as the stored varints
  // (checkpoint-formats.md §3.5), so it is recomputed while parsing.
  const std::span<const uint8_t> b = stored(e, false);
  const int64_t n = shape_numel(e.shape);
  if (n < 0 || uint64_t(n) > b.size()) throw Error(what + ": " + std::to_string(n) + " strings cannot fit in " + std::to_string(b.size()) + " bytes");
  ByteCursor c(b, what);
  std::vector<uint64_t> lens;
  uint32_t crc = 0;
  for (int64_t i = 0; i < n; ++i) {
    lens.push_back(c.varint64("string length"));
    const uint64_t l = lens.back();
    if (l <= 0xFFFFFFFFu) {
      const uint32_t l32 = uint32_t(l);
      crc = crc32c_extend(crc, reinterpret_cast<const uint8_t*>(&l32), 4);
    } else {
      crc = crc32c_extend(crc, reinterpret_cast<const uint8_t*>(&l), 8);
    }
  }
  uint32_t whole = crc;
  if (n > 0) {
    const std::span<const uint8_t> stored_crc = c.take(4, "length checksum");
    uint32_t v;
    std::memcpy(&v, stored_crc.data(), 4);
    if (kRejectBadChecksums && crc32c_unmask(v) != crc) c.fail("string length checksum mismatch (corrupt data)");
    whole = crc32c_extend(whole, stored_crc.data(), 4);
  }
  std::vector<std::string> out;
  for (uint64_t l : lens) {
    if (l > c.remaining()) c.fail("string of " + std::to_string(l) + " bytes runs past the tensor");
    const std::string_view s = c.take_string(size_t(l), "string");
    whole = crc32c_extend(whole, reinterpret_cast<const uint8_t*>(s.data()), s.size());
    out.emplace_back(s);
  }
  if (kRejectBadChecksums && whole != crc32c_unmask(e.crc_masked)) c.fail("CRC-32C mismatch (corrupt data)");
  return out;
}

}  // namespace bb::io
