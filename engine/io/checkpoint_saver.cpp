#include "engine/io/checkpoint_saver.h"

#include <cstring>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/parameter_manifest.h"

namespace bb::io {

namespace fs = std::filesystem;

namespace {

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  return a.data() == b.data() || (a.numel() > 0 && std::memcmp(a.data(), b.data(), a.bytes()) == 0);
}

}  // namespace

SaveResult save_pretrained(const std::string& dir, const ModelConfig& config, const ParameterStore& params,
                           const SaveOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw Error("cannot create directory " + dir + ": " + (ec ? ec.message() : "not a directory"));

  SaveResult result;
  // HF omits tied copies from safetensors (they cannot alias) and re-ties them on load.
  std::map<std::string, std::string> tied;
  try {
    for (const ExpectedTensor& e : expected_parameters(config).tensors)
      if (!e.tied_to.empty()) tied[e.name] = e.tied_to;
  } catch (const Error&) {
    // unknown architecture: save every tensor as it is
  }

  SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  for (const std::string& name : params.names()) {
    const Tensor& t = params.get(name);
    auto tie = tied.find(name);
    if (tie != tied.end() && params.has(tie->second) && same_tensor(t, params.get(tie->second))) {
      result.omitted_tied.push_back(name);
      continue;
    }
    DType d = DType::F32;
    if (options.dtype) d = *options.dtype;
    else if (auto it = options.dtypes.find(name); it != options.dtypes.end()) d = it->second;
    if (d != DType::F16 && d != DType::BF16) d = DType::F32;
    writer.add(name, t, d);
    ++result.tensors;
  }
  const std::string weights = (fs::path(dir) / "model.safetensors").string();
  writer.write(weights);
  result.written.push_back(weights);

  ModelConfig c = config;
  if (options.dtype || !options.dtypes.empty()) {
    // torch_dtype tells from_pretrained what the weights are; keep it truthful.
    DType common = options.dtype.value_or(DType::F32);
    if (!options.dtype) {
      bool first = true, mixed = false;
      for (const auto& [n, d] : options.dtypes) {
        if (first) common = d;
        else mixed = mixed || d != common;
        first = false;
      }
      if (mixed) common = DType::F32;
    }
    c.extra["torch_dtype"] = common == DType::F16 ? "\"float16\"" : common == DType::BF16 ? "\"bfloat16\"" : "\"float32\"";
  }
  const std::string config_path = (fs::path(dir) / "config.json").string();
  write_file_atomic(config_path, config_to_json(c));
  result.written.push_back(config_path);

  for (const std::string& f : options.copy_files) {
    const fs::path dst = fs::path(dir) / fs::path(f).filename();
    if (fs::equivalent(f, dst, ec)) continue;  // already there (saving over the source directory)
    const std::string bytes = read_text_file(f);
    write_file_atomic(dst.string(), bytes);
    result.written.push_back(dst.string());
  }
  return result;
}

}  // namespace bb::io
