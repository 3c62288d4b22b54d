#pragma once
// One interface over every checkpoint format: the list of stored tensors (name, dtype, shape)
// and reads by name. Implementations: safetensors, PyTorch (zip and legacy), TensorFlow tensor
// bundles and sharded checkpoints (*.index.json) whose shards are any of those.
// Readers validate while opening; reads only allocate what the file implies (one tensor's elements).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"  // DType

namespace bb::io {

struct SourceTensor {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::string file;  // the file that holds it
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::string format() const = 0;  // "safetensors", "pytorch-zip", "pytorch-legacy", "tensorflow-bundle", "sharded ..."
  virtual const std::vector<SourceTensor>& tensors() const = 0;  // file order
  virtual std::vector<std::string> files() const = 0;
  // Entries that are not tensors of a supported dtype (TF string tensors, torch non-tensor values).
  virtual std::vector<std::string> other_entries() const { return {}; }
  virtual std::map<std::string, std::string> metadata() const { return {}; }

  const SourceTensor* find(const std::string& name) const;  // nullptr if absent
  const SourceTensor& at(const std::string& name) const;    // throws, naming the file and tensor

  // Elements as fp32 (F32/F16/BF16/F64 only). May share memory with a mapped file (no copy).
  virtual Tensor read_f32(const std::string& name) const = 0;
  // Elements row-major, little-endian, in the tensor's own dtype.
  virtual std::vector<uint8_t> read_bytes(const std::string& name) const = 0;

 protected:
  void build_index() const;
  mutable std::map<std::string, size_t> index_;
};

// Opens a checkpoint file of any supported format (detected from its bytes), a TF bundle by its
// prefix or .index path, or a sharded checkpoint by its *.index.json. Throws bb::Error.
std::unique_ptr<TensorSource> open_tensor_source(const std::string& path);

// Bytes a tensor of this dtype and shape occupies (overflow-checked; throws naming `what`).
uint64_t tensor_bytes(DType dtype, const Shape& shape, const std::string& what);

}  // namespace bb::io
