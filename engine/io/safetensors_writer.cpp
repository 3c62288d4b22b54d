// safetensors writer, byte-compatible with huggingface/safetensors `serialize`: tensors sorted by
// descending dtype (the Rust enum order, which our DType mirrors) then name; compact JSON header
// {"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[b,e]},...} in that order,
// right-padded with spaces to a multiple of 8 bytes so every tensor is naturally aligned.
#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/half_float.h"
#include "engine/io/json_strict.h"
#include "engine/io/safetensors.h"
#include "engine/core/utf8.h"

namespace bb::io {

namespace {

[[noreturn]] void writer_error(const std::string& message) { throw Error("safetensors writer: " + message); }

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  if (!is_valid_utf8(key) || !is_valid_utf8(value))
    writer_error("metadata " + quote_for_message(key) + " is not valid UTF-8");
  metadata_[key] = value;
}

void SafetensorsWriter::clear_metadata() { metadata_.clear(); }

void SafetensorsWriter::add_raw(const std::string& name, DType dtype, const Shape& shape,
                                std::span<const uint8_t> bytes) {
  const std::string q = quote_for_message(name);
  if (name == "__metadata__") writer_error("\"__metadata__\" is reserved and cannot name a tensor");
  if (!is_valid_utf8(name)) writer_error("tensor name " + q + " is not valid UTF-8");
  for (const Entry& e : entries_)
    if (e.name == name) writer_error("tensor " + q + " added twice");
  if (dtype_size(dtype) == 0) writer_error("tensor " + q + ": invalid dtype");
  uint64_t numel = 1, nbytes = 0;
  for (int64_t d : shape) {
    if (d < 0 || uint64_t(d) > kMaxSafetensorsInt)
      writer_error("tensor " + q + ": dimension " + std::to_string(d) + " is outside [0, 2^48]");
    if (__builtin_mul_overflow(numel, uint64_t(d), &numel))
      writer_error("tensor " + q + ": shape " + shape_to_string(shape) + " has too many elements");
  }
  if (__builtin_mul_overflow(numel, uint64_t(dtype_size(dtype)), &nbytes) || nbytes != bytes.size())
    writer_error("tensor " + q + ": " + dtype_name(dtype) + " " + shape_to_string(shape) + " needs " +
                 std::to_string(nbytes) + " bytes, got " + std::to_string(bytes.size()));
  entries_.push_back(Entry{name, dtype, shape, std::vector<uint8_t>(bytes.begin(), bytes.end())});
}

void SafetensorsWriter::add(const std::string& name, const Tensor& t) {
  add_raw(name, DType::F32, t.shape(), {reinterpret_cast<const uint8_t*>(t.data()), t.bytes()});
}

void SafetensorsWriter::add(const std::string& name, const I64Tensor& t) {
  add_raw(name, DType::I64, t.shape(), {reinterpret_cast<const uint8_t*>(t.data()), t.bytes()});
}

void SafetensorsWriter::add(const std::string& name, const I32Tensor& t) {
  add_raw(name, DType::I32, t.shape(), {reinterpret_cast<const uint8_t*>(t.data()), t.bytes()});
}

void SafetensorsWriter::add(const std::string& name, const Tensor& t, DType store_as) {
  if (store_as == DType::F32) return add(name, t);
  if (store_as != DType::F16 && store_as != DType::BF16)
    writer_error("tensor " + quote_for_message(name) + ": cannot store fp32 values as " + dtype_name(store_as));
  std::vector<uint16_t> half(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    half[size_t(i)] = store_as == DType::F16 ? f32_to_f16(t[i]) : f32_to_bf16(t[i]);
  add_raw(name, store_as, t.shape(), {reinterpret_cast<const uint8_t*>(half.data()), half.size() * 2});
}

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::file_order() const {
  std::vector<const Entry*> order;
  for (const Entry& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (a->dtype != b->dtype) return a->dtype > b->dtype;
    return a->name < b->name;
  });
  return order;
}

std::string SafetensorsWriter::header_bytes() const {
  std::string json = "{";
  if (!metadata_.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata_) {
      if (!first) json += ",";
      first = false;
      json += json_string(k) + ":" + json_string(v);
    }
    json += "}";
  }
  uint64_t offset = 0;
  for (const Entry* e : file_order()) {
    if (json.size() > 1) json += ",";
    json += json_string(e->name) + ":{\"dtype\":\"" + dtype_name(e->dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < e->shape.size(); ++i) {
      if (i) json += ',';
      json += std::to_string(e->shape[i]);
    }
    const uint64_t end = offset + e->bytes.size();
    if (end > kMaxSafetensorsInt) writer_error("more than 2^48 bytes of tensor data");
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > kMaxSafetensorsHeader) writer_error("header of " + std::to_string(json.size()) + " bytes is too large");
  const uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + json;
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  const std::string header = header_bytes();
  size_t total = header.size();
  for (const Entry& e : entries_) total += e.bytes.size();
  std::vector<uint8_t> out;
  out.reserve(total);
  out.insert(out.end(), header.begin(), header.end());
  for (const Entry* e : file_order()) out.insert(out.end(), e->bytes.begin(), e->bytes.end());
  return out;
}

void SafetensorsWriter::write(const std::string& path) const {
  const std::string header = header_bytes();
  AtomicFileWriter w(path);
  w.write(std::string_view(header));
  for (const Entry* e : file_order()) w.write(e->bytes);
  w.commit();
}

}  // namespace bb::io
