#include "engine/models/parameters.h"

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace bb {

void ParameterStore::set(const std::string& name, Tensor t) { tensors_[name] = std::move(t); }

const Tensor& ParameterStore::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(source_ + ": missing tensor '" + name + "'");
  return it->second;
}

const Tensor& ParameterStore::get(const std::string& name, const Shape& expected) const {
  const Tensor& t = get(name);
  if (t.shape() != expected)
    throw Error(source_ + ": tensor '" + name + "' has shape " + shape_to_string(t.shape()) + ", expected " +
                shape_to_string(expected));
  return t;
}

Tensor& ParameterStore::mutable_get(const std::string& name) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(source_ + ": missing tensor '" + name + "'");
  return it->second;
}

std::vector<std::string> ParameterStore::names() const {
  std::vector<std::string> out;
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

int64_t ParameterStore::parameter_count() const {
  int64_t n = 0;
  for (const auto& kv : tensors_) n += kv.second.numel();
  return n;
}

size_t ParameterStore::bytes() const {
  size_t n = 0;
  for (const auto& kv : tensors_) n += kv.second.bytes();
  return n;
}

ParameterStore load_safetensors_parameters(const std::vector<std::string>& files) {
  ParameterStore store;
  if (!files.empty()) store.set_source(files.front());
  for (const std::string& path : files) {
    io::SafetensorsFile f = io::SafetensorsFile::open(path);
    for (const io::TensorInfo& info : f.tensors()) {
      const bool floating = info.dtype == io::DType::F32 || info.dtype == io::DType::F16 ||
                            info.dtype == io::DType::BF16 || info.dtype == io::DType::F64;
      if (!floating) continue;
      if (store.has(info.name)) throw Error(path + ": tensor '" + info.name + "' appears in more than one file");
      store.set(info.name, f.map_f32(info.name));
    }
  }
  return store;
}

}  // namespace bb
