// bigbird inspect: what a checkpoint file or a model directory contains, without loading it.
// Each checkpoint format contributes one summarize_* function returning a CheckpointSummary;
// printing (text or JSON) is shared. PyTorch and TensorFlow readers plug in at summarize_file().
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/io/checkpoint_format.h"
#include "engine/io/safetensors.h"
#include "engine/models/config.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird inspect PATH [--json]

Lists what a checkpoint holds, after validating it: format, tensor count, parameter count,
dtypes and every tensor (name, dtype, shape). PATH is a .safetensors file or a model
directory with config.json + model.safetensors (the layout of a Hugging Face model repo);
for a directory the architecture parsed from config.json is shown too.
  --json    print one JSON object instead of text)";

struct TensorRow {
  std::string name, dtype;
  Shape shape;
  uint64_t bytes = 0;
  bool floating = false;
};

struct CheckpointSummary {
  std::string file, format;
  uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorRow> tensors;  // in file order

  int64_t parameter_count() const {  // elements of floating-point tensors (integer buffers excluded)
    int64_t n = 0;
    for (const auto& t : tensors)
      if (t.floating) n += shape_numel(t.shape);
    return n;
  }
  std::map<std::string, int> dtype_counts() const {
    std::map<std::string, int> m;
    for (const auto& t : tensors) ++m[t.dtype];
    return m;
  }
};

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

CheckpointSummary summarize_safetensors(const std::string& path) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  CheckpointSummary s;
  s.file = path;
  s.format = "safetensors";
  s.file_size = f.file_size();
  s.metadata = f.metadata();
  for (const io::TensorInfo& t : f.tensors())
    s.tensors.push_back({t.name, io::dtype_name(t.dtype), t.shape, t.end - t.begin, io::is_floating(t.dtype)});
  return s;
}

CheckpointSummary summarize_file(const std::string& path) {
  io::CheckpointFormat format = io::detect_checkpoint_format(path);
  // A damaged safetensors file does not look like one; let its reader say what is wrong.
  if (format == io::CheckpointFormat::Unknown && ends_with(path, ".safetensors")) format = io::CheckpointFormat::Safetensors;
  switch (format) {
    case io::CheckpointFormat::Safetensors: return summarize_safetensors(path);
    case io::CheckpointFormat::Unknown:
      throw Error(path + ": not a recognised checkpoint (expected safetensors, PyTorch or a TensorFlow .index)");
    default:
      throw Error(path + ": " + io::to_string(format) + " checkpoints are not supported by inspect yet");
  }
}

std::string weights_file_in(const std::string& dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin", "tf_model.h5"})
    if (exists(dir + "/" + name)) return dir + "/" + name;
  if (exists(dir + "/model.safetensors.index.json"))
    throw Error(dir + ": sharded checkpoints (model.safetensors.index.json) are not supported by inspect yet");
  throw Error(dir + ": no model.safetensors (or pytorch_model.bin) in this directory");
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) s.insert(size_t(i), 1, ',');
  return s;
}

std::string architecture_line(const ModelConfig& c) {
  std::string arch = c.architectures.empty() ? c.model_type : c.architectures[0] + " (" + c.model_type + ")";
  return arch;
}

nlohmann::json architecture_json(const ModelConfig& c) {
  nlohmann::json j;
  j["model_type"] = c.model_type;
  j["architectures"] = c.architectures;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["head_dim"] = c.head_dim();
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = to_string(c.hidden_act);
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["use_bias"] = c.use_bias;
  j["rescale_embeddings"] = c.rescale_embeddings;
  j["attention_type"] = attn::to_string(c.attention_type);
  j["block_size"] = c.block_size;
  j["num_random_blocks"] = c.num_random_blocks;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.family == ModelFamily::BigBirdPegasus) {
    j["decoder_layers"] = c.decoder_layers;
    j["decoder_attention_heads"] = c.decoder_attention_heads;
    j["decoder_ffn_dim"] = c.decoder_ffn_dim;
  }
  if (!c.id2label.empty()) j["num_labels"] = c.num_labels();
  return j;
}

void print_text(const std::string& path, const CheckpointSummary& s, const ModelConfig* config) {
  std::printf("path:         %s\n", path.c_str());
  std::printf("file:         %s (%s bytes)\n", s.file.c_str(), with_commas(int64_t(s.file_size)).c_str());
  std::printf("format:       %s\n", s.format.c_str());
  if (!s.metadata.empty()) {
    std::string m;
    for (const auto& [k, v] : s.metadata) m += (m.empty() ? "" : ", ") + k + "=" + (v.size() > 60 ? v.substr(0, 60) + "..." : v);
    std::printf("metadata:     %s\n", m.c_str());
  }
  std::printf("tensors:      %zu\n", s.tensors.size());
  std::printf("parameters:   %s\n", with_commas(s.parameter_count()).c_str());
  std::string dtypes;
  for (const auto& [d, n] : s.dtype_counts()) dtypes += (dtypes.empty() ? "" : ", ") + d + " x" + std::to_string(n);
  std::printf("dtypes:       %s\n", dtypes.empty() ? "-" : dtypes.c_str());
  if (config) {
    const ModelConfig& c = *config;
    const bool peg = c.family == ModelFamily::BigBirdPegasus;
    std::printf("architecture: %s\n", architecture_line(c).c_str());
    std::printf("  hidden %lld, %s %d, heads %d (head dim %lld), ffn %lld, vocab %lld, max positions %lld\n",
                (long long)c.hidden_size, peg ? "encoder layers" : "layers", c.num_hidden_layers, c.num_attention_heads,
                (long long)c.head_dim(), (long long)c.intermediate_size, (long long)c.vocab_size,
                (long long)c.max_position_embeddings);
    if (peg)
      std::printf("  decoder layers %d, decoder heads %d, decoder ffn %lld\n", c.decoder_layers, c.decoder_attention_heads,
                  (long long)c.decoder_ffn_dim);
    std::printf("  attention %s (block %d, %d random blocks), activation %s, layer norm eps %g, bias %s, embedding scale %s\n",
                attn::to_string(c.attention_type).c_str(), c.block_size, c.num_random_blocks, to_string(c.hidden_act).c_str(),
                c.layer_norm_eps, c.use_bias ? "yes" : "no", c.rescale_embeddings ? "yes" : "no");
    if (!c.id2label.empty()) std::printf("  labels %d\n", c.num_labels());
  }
  size_t width = 4;
  for (const auto& t : s.tensors) width = std::max(width, t.name.size());
  std::printf("\n%-*s  %-5s  %s\n", int(width), "name", "dtype", "shape");
  for (const auto& t : s.tensors)
    std::printf("%-*s  %-5s  %s\n", int(width), t.name.c_str(), t.dtype.c_str(), shape_to_string(t.shape).c_str());
}

void print_json(const std::string& path, const CheckpointSummary& s, const ModelConfig* config) {
  nlohmann::json j;
  j["path"] = path;
  j["file"] = s.file;
  j["file_size"] = s.file_size;
  j["format"] = s.format;
  j["metadata"] = s.metadata;
  j["tensor_count"] = s.tensors.size();
  j["parameter_count"] = s.parameter_count();
  j["dtypes"] = s.dtype_counts();
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : s.tensors) rows.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes}});
  j["tensors"] = rows;
  if (config) j["architecture"] = architecture_json(*config);
  std::printf("%s\n", j.dump(2).c_str());
}

int run_inspect(const std::vector<std::string>& argv) {
  Args args(argv, {}, {"json"});
  if (args.positional().size() != 1) throw Error("inspect needs exactly one PATH (see bigbird inspect --help)");
  const std::string path = args.positional()[0];
  if (!exists(path)) throw Error(path + ": no such file or directory");

  CheckpointSummary summary;
  ModelConfig config;
  const bool is_dir = is_directory(path);
  if (is_dir) {
    const std::string config_path = path + "/config.json";
    if (!exists(config_path)) throw Error(path + ": no config.json in this directory");
    config = load_config(config_path);
    summary = summarize_file(weights_file_in(path));
  } else {
    summary = summarize_file(path);
  }
  if (args.has("json"))
    print_json(path, summary, is_dir ? &config : nullptr);
  else
    print_text(path, summary, is_dir ? &config : nullptr);
  return 0;
}

const Registrar reg{{"inspect", "Show the tensors, dtypes and architecture of a checkpoint", kUsage, run_inspect}};

}  // namespace
}  // namespace bb::cli
