// bigbird inspect: what a checkpoint holds, without loading its tensors. Each checkpoint format
// contributes one summarize_* function returning a CheckpointSummary; the comparison with the
// config (missing / unexpected / mis-shaped tensors, memory to load) and printing are shared.
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/io/model_location.h"
#include "engine/io/parameter_manifest.h"
#include "engine/io/safetensors.h"
#include "engine/io/tensor_source.h"
#include "engine/io/tf_bundle.h"
#include "engine/io/tf_name_mapping.h"
#include "engine/io/torch_checkpoint.h"
#include "engine/models/config.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird inspect PATH [--config FILE] [--json]

Lists what a checkpoint holds, after validating its structure (tensor data is not read): format,
tensor count, parameter count, dtypes and every tensor (name, dtype, shape). PATH is a checkpoint
file (.safetensors, PyTorch .bin/.pt, a TensorFlow .index or checkpoint prefix, *.index.json), a
model directory (HF repo layout, TF checkpoint directory, SavedModel) or ORG/NAME[@REV] in the
Hugging Face cache. With a config.json next to the weights (or --config), it also shows the
architecture, the tensors the config needs that are missing or mis-shaped, unexpected tensors,
and the memory needed to load the model.
  --config FILE  compare with this config.json (e.g. for an original TensorFlow checkpoint)
  --json         print one JSON object instead of text)";

struct TensorRow {
  std::string name, dtype;
  Shape shape;
  uint64_t bytes = 0;
  bool floating = false;
};

struct CheckpointSummary {
  std::string file, format;
  std::vector<std::string> files;
  uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorRow> tensors;  // in file order
  std::vector<std::string> other_entries;  // not tensors of a supported dtype
  std::vector<std::string> notes;          // format-specific remarks

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

uint64_t file_size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

CheckpointSummary summarize_common(const io::TensorSource& src, const std::string& path) {
  CheckpointSummary s;
  s.file = path;
  s.format = src.format();
  s.files = src.files();
  for (const std::string& f : s.files) s.file_size += file_size_of(f);
  s.metadata = src.metadata();
  for (const io::SourceTensor& t : src.tensors())
    s.tensors.push_back({t.name, io::dtype_name(t.dtype), t.shape, io::tensor_bytes(t.dtype, t.shape, t.name), io::is_floating(t.dtype)});
  s.other_entries = src.other_entries();
  return s;
}

CheckpointSummary summarize_safetensors(const io::TensorSource& src, const std::string& path) {
  CheckpointSummary s = summarize_common(src, path);
  if (!s.metadata.count("format")) s.notes.push_back("no __metadata__ format (HF writes {\"format\":\"pt\"})");
  return s;
}

CheckpointSummary summarize_pytorch(const io::TorchCheckpoint& src, const std::string& path) {
  CheckpointSummary s = summarize_common(src, path);
  std::map<const void*, std::vector<std::string>> by_storage;
  for (const io::TorchTensor& t : src.torch_tensors()) by_storage[t.storage.get()].push_back(t.name);
  for (const auto& [storage, names] : by_storage)
    if (names.size() > 1) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      s.notes.push_back("one shared storage: " + list);
    }
  return s;
}

CheckpointSummary summarize_tensorflow(const io::TfBundle& src, const std::string& path) {
  CheckpointSummary s = summarize_common(src, path);
  s.notes.push_back(std::to_string(src.num_shards()) + " data shard(s)" + (src.big_endian() ? ", big-endian" : "") +
                    (src.has_object_graph() ? ", TF2 object graph (variables listed by their TF1-style names)" : ", TF1 names"));
  for (const std::string& m : src.missing_shards()) s.notes.push_back("data file missing: " + m + " (index only)");
  return s;
}

CheckpointSummary summarize(const io::TensorSource& src, const std::string& path) {
  if (const auto* t = dynamic_cast<const io::TorchCheckpoint*>(&src)) return summarize_pytorch(*t, path);
  if (const auto* t = dynamic_cast<const io::TfBundle*>(&src)) return summarize_tensorflow(*t, path);
  if (src.format() == "safetensors") return summarize_safetensors(src, path);
  return summarize_common(src, path);
}

// --- the checkpoint against its config --------------------------------------------------------

struct ConfigCheck {
  std::string architecture;
  size_t expected = 0, present = 0;
  std::vector<std::string> missing, unexpected, mismatched, tied, skipped;
  std::vector<std::string> absent_optional;  // pooler, final_logits_bias, ... (not needed)
  uint64_t memory_bytes = 0;  // fp32 parameters, tied copies counted once
};

// The HF shape a TF tensor becomes (kernels transposed, 3-D attention kernels merged per head).
Shape hf_shape_of(const Shape& s, io::TfLayout layout) {
  if (layout == io::TfLayout::AsIs || s.size() < 2) return s;
  if (s.size() == 2) return {s[1], s[0]};
  if (s.size() == 3 && layout == io::TfLayout::HeadsIn) return {s[1] * s[2], s[0]};
  if (s.size() == 3 && layout == io::TfLayout::HeadsOut) return {s[2], s[0] * s[1]};
  return s;
}

ConfigCheck check_against(const CheckpointSummary& s, const ModelConfig& c) {
  ConfigCheck r;
  const io::ParameterManifest m = io::expected_parameters(c);
  r.architecture = m.architecture;
  bool tf = s.format == "tensorflow-bundle";
  for (const TensorRow& t : s.tensors) tf = tf || t.name.rfind("bert/", 0) == 0 || t.name.rfind("pegasus/", 0) == 0;
  std::map<std::string, std::pair<const TensorRow*, Shape>> have;  // HF name -> row, shape as HF sees it
  for (const TensorRow& t : s.tensors) {
    if (tf) {
      const auto mapped = io::map_tf_name(t.name, c.family);
      if (!mapped) {
        r.skipped.push_back(t.name);
        continue;
      }
      for (const std::string& hf : mapped->hf_names) have[m.adapt(hf)] = {&t, hf_shape_of(t.shape, mapped->layout)};
      continue;
    }
    have[m.adapt(t.name)] = {&t, t.shape};
  }
  std::set<std::string> used;
  for (const io::ExpectedTensor& e : m.tensors) {
    ++r.expected;
    auto it = have.find(e.name);
    if (it == have.end()) {
      if (!e.tied_to.empty() && have.count(e.tied_to)) {
        r.tied.push_back(e.name);
      } else if (e.optional) {
        r.absent_optional.push_back(e.name);
        if (e.zeros_if_missing) r.memory_bytes += uint64_t(shape_numel(e.shape)) * 4;
      } else {
        r.missing.push_back(e.name);
      }
      continue;
    }
    ++r.present;
    used.insert(e.name);
    if (it->second.second != e.shape)
      r.mismatched.push_back(e.name + " is " + shape_to_string(it->second.second) + ", expected " + shape_to_string(e.shape));
    else
      r.memory_bytes += uint64_t(shape_numel(e.shape)) * 4;
  }
  for (const auto& [name, row] : have)
    if (!used.count(name) && !m.is_buffer(name) && row.first->floating) r.unexpected.push_back(name);
  return r;
}

// --- printing -----------------------------------------------------------------------------------

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) s.insert(size_t(i), 1, ',');
  return s;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string architecture_line(const ModelConfig& c) {
  return c.architectures.empty() ? c.model_type : c.architectures[0] + " (" + c.model_type + ")";
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

std::string short_list(const std::vector<std::string>& v, size_t max = 8) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += ", ... (" + std::to_string(v.size()) + ")";
  return s;
}

void print_text(const std::string& path, const CheckpointSummary& s, const ModelConfig* config, const ConfigCheck* check) {
  std::printf("path:         %s\n", path.c_str());
  std::printf("file:         %s (%s bytes)\n", s.file.c_str(), with_commas(int64_t(s.file_size)).c_str());
  if (s.files.size() > 1) std::printf("files:        %zu (%s)\n", s.files.size(), short_list(s.files, 4).c_str());
  std::printf("format:       %s\n", s.format.c_str());
  if (!s.metadata.empty()) {
    std::string m;
    for (const auto& [k, v] : s.metadata) m += (m.empty() ? "" : ", ") + k + "=" + (v.size() > 60 ? v.substr(0, 60) + "..." : v);
    std::printf("metadata:     %s\n", m.c_str());
  }
  for (const std::string& n : s.notes) std::printf("note:         %s\n", n.c_str());
  std::printf("tensors:      %zu\n", s.tensors.size());
  std::printf("parameters:   %s\n", with_commas(s.parameter_count()).c_str());
  std::string dtypes;
  for (const auto& [d, n] : s.dtype_counts()) dtypes += (dtypes.empty() ? "" : ", ") + d + " x" + std::to_string(n);
  std::printf("dtypes:       %s\n", dtypes.empty() ? "-" : dtypes.c_str());
  if (!s.other_entries.empty()) std::printf("other:        %s\n", short_list(s.other_entries).c_str());
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
  if (check) {
    std::printf("expected:     %zu tensors for %s, %zu present%s\n", check->expected, check->architecture.c_str(), check->present,
                check->tied.empty() ? "" : (", " + std::to_string(check->tied.size()) + " tied (re-tied on load)").c_str());
    std::printf("missing:      %s\n", check->missing.empty() ? "none" : short_list(check->missing).c_str());
    std::printf("mis-shaped:   %s\n", check->mismatched.empty() ? "none" : short_list(check->mismatched, 4).c_str());
    std::printf("unexpected:   %s\n", check->unexpected.empty() ? "none" : short_list(check->unexpected).c_str());
    if (!check->skipped.empty())
      std::printf("skipped:      %zu (optimizer slots, step counters, other scopes)\n", check->skipped.size());
    std::printf("memory:       %s to load (fp32 parameters)\n", mib(check->memory_bytes).c_str());
  }
  size_t width = 4;
  for (const auto& t : s.tensors) width = std::max(width, t.name.size());
  std::printf("\n%-*s  %-5s  %s\n", int(width), "name", "dtype", "shape");
  for (const auto& t : s.tensors)
    std::printf("%-*s  %-5s  %s\n", int(width), t.name.empty() ? "(unnamed)" : t.name.c_str(), t.dtype.c_str(),
                shape_to_string(t.shape).c_str());
}

void print_json(const std::string& path, const CheckpointSummary& s, const ModelConfig* config, const ConfigCheck* check) {
  nlohmann::json j;
  j["path"] = path;
  j["file"] = s.file;
  j["files"] = s.files;
  j["file_size"] = s.file_size;
  j["format"] = s.format;
  j["metadata"] = s.metadata;
  j["notes"] = s.notes;
  j["tensor_count"] = s.tensors.size();
  j["parameter_count"] = s.parameter_count();
  j["dtypes"] = s.dtype_counts();
  j["other_entries"] = s.other_entries;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : s.tensors) rows.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes}});
  j["tensors"] = rows;
  if (config) j["architecture"] = architecture_json(*config);
  if (check)
    j["config_check"] = {{"architecture", check->architecture}, {"expected", check->expected}, {"present", check->present},
                         {"missing", check->missing},           {"shape_mismatches", check->mismatched},
                         {"unexpected", check->unexpected},     {"tied", check->tied},
                         {"absent_optional", check->absent_optional},
                         {"skipped", check->skipped},           {"estimated_memory_bytes", check->memory_bytes}};
  std::printf("%s\n", j.dump(2).c_str());
}

int run_inspect(const std::vector<std::string>& argv) {
  Args args(argv, {"config"}, {"json"});
  if (args.positional().size() != 1) throw Error("inspect needs exactly one PATH (see bigbird inspect --help)");
  const std::string path = args.positional()[0];
  const io::ModelLocation loc = io::locate_model(path);
  const std::unique_ptr<io::TensorSource> src = io::open_tensor_source(loc.weights);
  const CheckpointSummary summary = summarize(*src, loc.weights);

  // The config: --config, else the one in the model directory (not for a bare file given alone).
  std::string config_path = args.get_or("config", "");
  struct stat st {};
  const bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const bool repo_id = ::stat(path.c_str(), &st) != 0 && loc.weights != path;
  if (config_path.empty() && (is_dir || repo_id)) config_path = loc.config;
  ModelConfig config;
  ConfigCheck check;
  const bool has_config = !config_path.empty();
  if (has_config) {
    config = load_config(config_path);
    check = check_against(summary, config);
  }
  if (args.has("json"))
    print_json(path, summary, has_config ? &config : nullptr, has_config ? &check : nullptr);
  else
    print_text(path, summary, has_config ? &config : nullptr, has_config ? &check : nullptr);
  return 0;
}

const Registrar reg{{"inspect", "Show the tensors, dtypes and architecture of a checkpoint", kUsage, run_inspect}};

}  // namespace
}  // namespace bb::cli
