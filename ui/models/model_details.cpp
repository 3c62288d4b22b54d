#include "ui/models/model_details.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "engine/core/error.h"
#include "engine/io/model_location.h"
#include "engine/io/parameter_manifest.h"
#include "engine/io/tensor_source.h"
#include "engine/models/config.h"
#include "engine/models/cost_model.h"
#include "ui/finetune/training_estimate.h"
#include "ui/text_utils.h"

namespace bb::ui {

ModelDetails inspectModel(const std::string& path) {
  ModelDetails d;
  d.path = path;
  const io::ModelLocation loc = io::locate_model(path);
  d.weights = loc.weights;
  for (const std::string& t : loc.tokenizer_files) d.tokenizerFiles.push_back(std::filesystem::path(t).filename().string());
  const std::unique_ptr<io::TensorSource> src = io::open_tensor_source(loc.weights);
  d.format = src->format();
  for (const std::string& f : src->files()) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) d.fileBytes += uint64_t(st.st_size);
  }
  std::set<std::string> names;
  for (const io::SourceTensor& t : src->tensors()) {
    ++d.tensors;
    ++d.dtypes[io::dtype_name(t.dtype)];
    names.insert(t.name);
    if (io::is_floating(t.dtype)) d.parameters += shape_numel(t.shape);
  }
  d.loadBytes = uint64_t(d.parameters) * 4;
  if (loc.config.empty()) {
    d.notes.push_back("no config.json: architecture unknown; the model cannot be loaded without one");
    d.inferenceBytes = d.loadBytes;
    return d;
  }
  const ModelConfig c = load_config(loc.config);
  d.modelType = c.model_type;
  d.layers = c.num_hidden_layers;
  d.heads = c.num_attention_heads;
  d.hidden = c.hidden_size;
  d.vocab = c.vocab_size;
  d.maxPositions = c.max_position_embeddings;
  d.blockSize = c.block_size;
  d.randomBlocks = c.num_random_blocks;
  d.attentionType = attn::to_string(c.attention_type);
  const io::ParameterManifest manifest = io::expected_parameters(c);
  d.architecture = manifest.architecture;
  const bool tf_names = d.format == "tensorflow-bundle" || names.count("bert/embeddings/word_embeddings");
  if (tf_names) {
    d.notes.push_back("original TensorFlow names: mapped to HF names and checked when the model loads");
  } else {
    std::set<std::string> adapted;
    for (const std::string& n : names) adapted.insert(manifest.adapt(n));
    for (const io::ExpectedTensor& t : manifest.tensors)
      if (!t.optional && !adapted.count(t.name) && !names.count(t.name)) d.missing.push_back(t.name);
  }
  // One input at the full length: hidden states, FFN, and the attention scores one layer holds.
  const int64_t L = c.max_position_embeddings;
  const bool sparse = c.attention_type == attn::AttentionType::BlockSparse && L > (5 + 2 * int64_t(c.num_random_blocks)) * c.block_size;
  const ForwardCost f = encoder_forward_cost(c, L, sparse);
  const double activations = double(L) * double(4 * c.hidden_size + 2 * c.intermediate_size) * 4.0 +
                             double(c.num_attention_heads) * double(f.scores_per_head) * 4.0;
  d.inferenceBytes = d.loadBytes + uint64_t(activations);
  return d;
}

std::string ModelDetails::text() const {
  std::string s;
  auto line = [&](const std::string& k, const std::string& v) { s += k + ": " + v + "\n"; };
  line("Path", path);
  line("Format", format + " (" + weights + ")");
  if (!architecture.empty()) {
    line("Architecture", architecture + " (" + modelType + ")");
    line("Shape", std::to_string(layers) + " layers, hidden " + std::to_string(hidden) + ", " + std::to_string(heads) +
                      " heads, vocabulary " + std::to_string(vocab) + ", up to " + std::to_string(maxPositions) + " tokens");
    line("Attention", attentionType + ", block " + std::to_string(blockSize) + ", " + std::to_string(randomBlocks) + " random blocks");
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f M", double(parameters) / 1e6);
  std::string dt;
  for (const auto& [k, n] : dtypes) dt += (dt.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  line("Parameters", std::string(buf) + " in " + std::to_string(tensors) + " tensors (" + dt + ")");
  line("On disk", formatBytes(double(fileBytes)));
  line("Memory", formatBytes(double(loadBytes)) + " to load (fp32), about " + formatBytes(double(inferenceBytes)) +
                     " to run one full-length input");
  std::string tk;
  for (const std::string& t : tokenizerFiles) tk += (tk.empty() ? "" : ", ") + t;
  line("Tokenizer", tk.empty() ? "none in the directory (the bundled gpt2.model fits vocabulary 50358)" : tk);
  if (!missing.empty()) {
    std::string m = std::to_string(missing.size()) + " tensors the config needs are missing, e.g. " + missing.front();
    line("Missing", m);
  }
  for (const std::string& n : notes) line("Note", n);
  return s;
}

}  // namespace bb::ui
