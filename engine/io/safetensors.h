#pragma once
// safetensors (https://github.com/huggingface/safetensors) reader and writer.
// The reader mmaps the file and validates it completely before anything is used
// (checkpoint-formats.md §1.2): header size, UTF-8 JSON, duplicate keys, contiguous
// non-overlapping offsets, sizes matching dtype x shape with overflow checks, no trailing bytes.
// Every failure is a bb::Error naming the file (and the tensor where there is one).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace bb::io {

enum class DType { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

const char* dtype_name(DType d);        // "F32", ...
size_t dtype_size(DType d);             // bytes per element
bool parse_dtype(const std::string& s, DType* out);  // false for unknown strings
bool is_floating(DType d);              // F16, BF16, F32, F64

// Largest accepted header (the reference's MAX_HEADER_SIZE) and largest integer in a header (JSON schema).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;
constexpr uint64_t kMaxSafetensorsInt = uint64_t(1) << 48;

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the data section
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);  // throws bb::Error
  // Same validation on an in-memory buffer (used by the fuzzer); `label` names it in errors.
  static SafetensorsFile from_bytes(std::vector<uint8_t> bytes, const std::string& label);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;
  const std::vector<TensorInfo>& tensors() const;  // in file (offset) order
  uint64_t header_size() const;  // N, the JSON header length; data starts at 8 + N
  uint64_t file_size() const;
  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  const std::map<std::string, std::string>& metadata() const;

  std::span<const uint8_t> raw(const std::string& name) const;  // throws if absent
  // Converting reads (unaligned-safe: old files are not aligned). read_f32 accepts F32, F16, BF16,
  // F64 (F64 rounds to nearest; beyond the fp32 range it becomes +-inf, as torch's .float() does).
  // read_i64 and read_i32 accept every integer dtype and BOOL; a value that does not fit the result
  // type (U64 > 2^63-1, I64 outside int32, ...) or a BOOL byte other than 0/1 is an error naming it.
  Tensor read_f32(const std::string& name) const;
  // Like read_f32, but an aligned F32 tensor of a mapped file is returned without a copy: it shares
  // the (private, copy-on-write) mapping, which stays alive as long as the tensor does.
  Tensor map_f32(const std::string& name) const;
  I64Tensor read_i64(const std::string& name) const;
  I32Tensor read_i32(const std::string& name) const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Collects tensors and writes them atomically (temp file in the same directory, fsync, rename):
// an interrupted save never leaves a half-written file under the final name.
// Output follows the modern layout: header padded with spaces to a multiple of 8, tensors sorted
// by descending alignment then name, so HF's from_pretrained and safetensors.torch load it.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);  // default {"format":"pt"}
  void clear_metadata();  // no "__metadata__" at all (as safetensors.numpy.save_file without metadata)
  void add_raw(const std::string& name, DType dtype, const Shape& shape, std::span<const uint8_t> bytes);
  void add(const std::string& name, const Tensor& t);
  void add(const std::string& name, const I64Tensor& t);
  void add(const std::string& name, const I32Tensor& t);
  // Stores an fp32 tensor as F32, F16 or BF16 (round to nearest even), e.g. for fp16 exports.
  void add(const std::string& name, const Tensor& t, DType store_as);
  void write(const std::string& path) const;  // throws bb::Error (disk full, permissions, ...)
  std::vector<uint8_t> serialize() const;
  // The 8-byte length + padded JSON header that serialize() and write() emit before the data.
  std::string header_bytes() const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<const Entry*> file_order() const;  // descending dtype, then name (as safetensors)

  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

}  // namespace bb::io
