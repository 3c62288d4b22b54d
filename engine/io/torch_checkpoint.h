#pragma once
// PyTorch torch.save files, read without Python (checkpoint-formats.md §2): the zip container
// (torch >= 1.6) and the legacy pickle stream (any pickle protocol), through the restricted pickle
// interpreter. Only what a state_dict needs is accepted: OrderedDict, torch._utils tensor and
// parameter rebuilders, storage types and dtypes. Anything else (a pickled nn.Module, a lambda,
// os.system, ...) is refused naming the global; TorchScript archives are refused.
// Tensors keep torch's view (storage, offset, shape, strides): shared, offset and strided storages
// load as torch would, and no read allocates more than the stored bytes plus a small allowance for
// expanded (stride 0) tensors.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/tensor_source.h"

namespace bb::io {

struct TorchStorage;

struct TorchTensor {
  std::string name;  // "" for a file holding one bare tensor
  DType dtype = DType::F32;
  Shape shape;
  std::vector<int64_t> stride;  // in elements
  int64_t offset = 0;           // in elements
  std::shared_ptr<TorchStorage> storage;
};

// Bytes an expanded (stride 0) tensor may occupy beyond its storage when materialised.
constexpr uint64_t kMaxExpansionBytes = uint64_t(64) << 20;

class TorchCheckpoint final : public TensorSource {
 public:
  static std::unique_ptr<TorchCheckpoint> open(const std::string& path);  // throws bb::Error
  static std::unique_ptr<TorchCheckpoint> from_bytes(std::vector<uint8_t> bytes, const std::string& label);
  ~TorchCheckpoint() override;

  std::string format() const override { return zip_ ? "pytorch-zip" : "pytorch-legacy"; }
  const std::vector<SourceTensor>& tensors() const override { return summary_; }
  std::vector<std::string> files() const override { return {file_->path()}; }
  std::vector<std::string> other_entries() const override { return others_; }
  Tensor read_f32(const std::string& name) const override;
  std::vector<uint8_t> read_bytes(const std::string& name) const override;

  const std::vector<TorchTensor>& torch_tensors() const { return tensors_; }
  const TorchTensor& torch_tensor(const std::string& name) const;
  const std::string& path() const { return file_->path(); }

 private:
  struct Impl;
  explicit TorchCheckpoint(std::shared_ptr<MappedFile> file);
  void load();
  std::span<const uint8_t> storage_bytes(const TorchStorage& s) const;

  std::shared_ptr<MappedFile> file_;
  bool zip_ = false;
  std::unique_ptr<Impl> impl_;
  std::vector<TorchTensor> tensors_;
  std::vector<SourceTensor> summary_;
  std::vector<std::string> others_;
};

}  // namespace bb::io
