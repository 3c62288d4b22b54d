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
  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  const std::map<std::string, std::string>& metadata() const;

  std::span<const uint8_t> raw(const std::string& name) const;  // throws if absent
  // Converting reads (unaligned-safe). read_f32 accepts F32, F16, BF16, F64;
  // read_i64 accepts I64, I32, I16, I8, U8, BOOL; read_i32 the same set (range-checked).
  Tensor read_f32(const std::string& name) const;
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
  void add_raw(const std::string& name, DType dtype, const Shape& shape, std::span<const uint8_t> bytes);
  void add(const std::string& name, const Tensor& t);
  void add(const std::string& name, const I64Tensor& t);
  void add(const std::string& name, const I32Tensor& t);
  void write(const std::string& path) const;  // throws bb::Error (disk full, permissions, ...)
  std::vector<uint8_t> serialize() const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

}  // namespace bb::io
