#pragma once
// Named fp32 parameters with HF names ("bert.encoder.layer.0.attention.self.query.weight").
// Models bind to tensors by name with shape checks, so a missing or mis-shaped tensor is an error
// that names the tensor, the expected and the actual shape.
#include <map>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace bb {

class ParameterStore {
 public:
  void set(const std::string& name, Tensor t);
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const Tensor& get(const std::string& name) const;                      // throws if missing
  const Tensor& get(const std::string& name, const Shape& expected) const;  // also checks the shape
  Tensor& mutable_get(const std::string& name);
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }
  int64_t parameter_count() const;
  size_t bytes() const;
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

 private:
  std::map<std::string, Tensor> tensors_;
  std::string source_ = "parameters";
};

// Reads every floating-point tensor of the given safetensors files as fp32 (integer buffers such as
// position_ids are skipped). Duplicate names across files are an error.
ParameterStore load_safetensors_parameters(const std::vector<std::string>& files);

}  // namespace bb
