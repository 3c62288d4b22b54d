#include "engine/io/tensor_source.h"

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint_format.h"
#include "engine/io/json_strict.h"
#include "engine/io/tf_bundle.h"
#include "engine/io/torch_checkpoint.h"

namespace bb::io {

const SourceTensor* TensorSource::find(const std::string& name) const {
  if (index_.size() != tensors().size()) build_index();
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors()[it->second];
}

const SourceTensor& TensorSource::at(const std::string& name) const {
  const SourceTensor* t = find(name);
  if (!t) {
    const std::vector<std::string> f = files();
    throw Error((f.empty() ? std::string("checkpoint") : f.front()) + ": no tensor named " + quote_for_message(name));
  }
  return *t;
}

void TensorSource::build_index() const {
  index_.clear();
  const std::vector<SourceTensor>& t = tensors();
  for (size_t i = 0; i < t.size(); ++i) index_.emplace(t[i].name, i);
}

uint64_t tensor_bytes(DType dtype, const Shape& shape, const std::string& what) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n))
      throw Error(what + ": shape " + shape_to_string(shape) + " is too large");
  return n;
}

namespace {

class SafetensorsSource final : public TensorSource {
 public:
  explicit SafetensorsSource(const std::string& path) : f_(SafetensorsFile::open(path)) {
    for (const TensorInfo& t : f_.tensors()) list_.push_back({t.name, t.dtype, t.shape, path});
    build_index();
  }
  std::string format() const override { return "safetensors"; }
  const std::vector<SourceTensor>& tensors() const override { return list_; }
  std::vector<std::string> files() const override { return {f_.path()}; }
  std::map<std::string, std::string> metadata() const override { return f_.metadata(); }
  Tensor read_f32(const std::string& name) const override { return f_.map_f32(name); }
  std::vector<uint8_t> read_bytes(const std::string& name) const override {
    const std::span<const uint8_t> r = f_.raw(name);
    return {r.begin(), r.end()};
  }

 private:
  SafetensorsFile f_;
  std::vector<SourceTensor> list_;
};

// model.safetensors.index.json / pytorch_model.bin.index.json: {"metadata": {...}, "weight_map": {tensor: shard}}.
class ShardedSource final : public TensorSource {
 public:
  explicit ShardedSource(const std::string& index_path) : index_path_(index_path) {
    namespace fs = std::filesystem;
    const nlohmann::json j = parse_json_strict(read_text_file(index_path), index_path);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index_path + ": not a sharded-checkpoint index (no \"weight_map\" object)");
    if (j.contains("metadata") && j["metadata"].is_object())
      for (const auto& [k, v] : j["metadata"].items()) metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
    const fs::path dir = fs::path(index_path).parent_path();
    std::map<std::string, std::string> wanted;  // tensor -> shard file name
    for (const auto& [tensor, shard] : j["weight_map"].items()) {
      if (!shard.is_string()) throw Error(index_path + ": weight_map entry " + quote_for_message(tensor) + " is not a file name");
      const std::string s = shard.get<std::string>();
      if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
        throw Error(index_path + ": shard " + quote_for_message(s) + " is not a file name in the same directory");
      wanted[tensor] = s;
    }
    std::set<std::string> shard_names;
    for (const auto& [t, s] : wanted) shard_names.insert(s);
    for (const std::string& s : shard_names) {
      auto src = open_tensor_source((dir / s).string());
      for (const SourceTensor& t : src->tensors()) {
        if (owner_.count(t.name))
          throw Error((dir / s).string() + ": tensor " + quote_for_message(t.name) + " is also in " + owner_.at(t.name)->files().front());
        owner_[t.name] = src.get();
        list_.push_back(t);
      }
      shards_.push_back(std::move(src));
    }
    for (const auto& [t, s] : wanted) {
      auto it = owner_.find(t);
      if (it == owner_.end()) throw Error(index_path + ": tensor " + quote_for_message(t) + " is missing from its shard " + s);
      const std::string got = std::filesystem::path(it->second->files().front()).filename().string();
      if (got != s) throw Error(index_path + ": tensor " + quote_for_message(t) + " is in " + got + ", not in " + s + " as the index says");
    }
    format_ = "sharded " + (shards_.empty() ? std::string("checkpoint") : shards_.front()->format());
    build_index();
  }
  std::string format() const override { return format_; }
  const std::vector<SourceTensor>& tensors() const override { return list_; }
  std::vector<std::string> files() const override {
    std::vector<std::string> f{index_path_};
    for (const auto& s : shards_)
      for (const auto& x : s->files()) f.push_back(x);
    return f;
  }
  std::vector<std::string> other_entries() const override {
    std::vector<std::string> o;
    for (const auto& s : shards_)
      for (const auto& x : s->other_entries()) o.push_back(x);
    return o;
  }
  std::map<std::string, std::string> metadata() const override { return metadata_; }
  Tensor read_f32(const std::string& name) const override { return shard_of(name).read_f32(name); }
  std::vector<uint8_t> read_bytes(const std::string& name) const override { return shard_of(name).read_bytes(name); }

 private:
  const TensorSource& shard_of(const std::string& name) const {
    auto it = owner_.find(name);
    if (it == owner_.end()) throw Error(index_path_ + ": no tensor named " + quote_for_message(name));
    return *it->second;
  }
  std::string index_path_, format_;
  std::vector<std::unique_ptr<TensorSource>> shards_;
  std::map<std::string, const TensorSource*> owner_;
  std::vector<SourceTensor> list_;
  std::map<std::string, std::string> metadata_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::unique_ptr<TensorSource> open_tensor_source(const std::string& path) {
  if (ends_with(path, ".index.json")) return std::make_unique<ShardedSource>(path);
  // A TF bundle may be named by its prefix (model.ckpt-300000), which is not a file itself.
  if (!is_file(path) && is_file(path + ".index")) return TfBundle::open(path);
  CheckpointFormat f = detect_checkpoint_format(path);
  if (f == CheckpointFormat::Unknown && ends_with(path, ".safetensors")) f = CheckpointFormat::Safetensors;
  switch (f) {
    case CheckpointFormat::Safetensors: return std::make_unique<SafetensorsSource>(path);
    case CheckpointFormat::PyTorchZip:
    case CheckpointFormat::PyTorchLegacy: return TorchCheckpoint::open(path);
    case CheckpointFormat::TensorFlowIndex: return TfBundle::open(path);
    case CheckpointFormat::PyTorchTar:
      throw Error(path + ": PyTorch tar checkpoint (torch <= 0.3) is not supported; re-save it with a current torch");
    case CheckpointFormat::PyTorchPreview:
      throw Error(path + ": \"PYTORCH1\" preview archive is not supported (not even torch reads it)");
    case CheckpointFormat::Unknown: break;
  }
  if (ends_with(path, ".h5")) throw Error(path + ": Keras HDF5 (.h5) checkpoints are not supported; use the TF checkpoint or safetensors");
  throw Error(path + ": not a recognised checkpoint (expected safetensors, PyTorch, a TensorFlow .index or *.index.json)");
}

}  // namespace bb::io
