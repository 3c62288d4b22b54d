#include "engine/io/model_location.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/hf_cache.h"

namespace bb::io {

namespace fs = std::filesystem;

const char* const kTokenizerFileNames[] = {"spiece.model", "sentencepiece.bpe.model", "vocab.txt", "tokenizer.json",
                                           "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                                           "generation_config.json"};
const size_t kTokenizerFileCount = sizeof(kTokenizerFileNames) / sizeof(kTokenizerFileNames[0]);

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks (HF cache snapshots)
}

// TF: the `checkpoint` state file names the latest prefix; else the only *.index in the directory.
std::string tf_prefix_in(const fs::path& dir) {
  const fs::path state = dir / "checkpoint";
  if (is_file(state)) {
    static const std::regex line(R"re(model_checkpoint_path:\s*"([^"]+)")re");
    std::smatch m;
    const std::string text = read_text_file(state.string());
    if (std::regex_search(text, m, line)) {
      fs::path p = m[1].str();
      if (p.is_relative()) p = dir / p;
      else if (!is_file(p.string() + ".index")) p = dir / p.filename();  // moved since it was written
      if (!is_file(p.string() + ".index")) throw Error(state.string() + ": names " + m[1].str() + ", which has no .index file");
      return p.string();
    }
  }
  std::vector<std::string> prefixes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 6 && n.compare(n.size() - 6, 6, ".index") == 0 && is_file(e.path()))
      prefixes.push_back((dir / n.substr(0, n.size() - 6)).string());
  }
  if (prefixes.size() == 1) return prefixes[0];
  if (prefixes.size() > 1) {
    std::sort(prefixes.begin(), prefixes.end());
    std::string list;
    for (const auto& p : prefixes) list += (list.empty() ? "" : ", ") + fs::path(p).filename().string();
    throw Error(dir.string() + ": several TensorFlow checkpoints (" + list + ") and no `checkpoint` file; name one");
  }
  if (is_file(dir / "variables" / "variables.index")) return (dir / "variables" / "variables").string();  // SavedModel
  return {};
}

void fill_dir_files(ModelLocation& loc) {
  const fs::path dir = loc.dir;
  if (is_file(dir / "config.json")) loc.config = (dir / "config.json").string();
  for (size_t i = 0; i < kTokenizerFileCount; ++i)
    if (is_file(dir / kTokenizerFileNames[i])) loc.tokenizer_files.push_back((dir / kTokenizerFileNames[i]).string());
}

ModelLocation from_directory(const fs::path& dir) {
  ModelLocation loc;
  loc.dir = dir.string();
  fill_dir_files(loc);
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"})
    if (is_file(dir / name)) {
      loc.weights = (dir / name).string();
      return loc;
    }
  loc.weights = tf_prefix_in(dir);
  if (!loc.weights.empty()) return loc;
  if (is_file(dir / "tf_model.h5") || is_file(dir / "flax_model.msgpack"))
    throw Error(dir.string() + ": only tf_model.h5 / flax_model.msgpack weights, which are not supported (need model.safetensors, pytorch_model.bin or a TF checkpoint)");
  throw Error(dir.string() + ": no model weights found (looked for model.safetensors, pytorch_model.bin, *.index.json, a TensorFlow checkpoint)");
}

}  // namespace

ModelLocation locate_model(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_directory(path);
  if (is_file(path)) {
    ModelLocation loc;
    loc.weights = path;
    const fs::path parent = fs::path(path).parent_path();
    loc.dir = parent.empty() ? "." : parent.string();
    fill_dir_files(loc);
    return loc;
  }
  if (is_file(path + ".index")) {  // TF checkpoint prefix such as model.ckpt-300000
    ModelLocation loc;
    loc.weights = path;
    const fs::path parent = fs::path(path).parent_path();
    loc.dir = parent.empty() ? "." : parent.string();
    fill_dir_files(loc);
    return loc;
  }
  if (auto ref = parse_repo_ref(path); ref && path.find('/') != std::string::npos)
    return from_directory(resolve_cached_snapshot(*ref));
  throw Error(path + ": no such file, directory or cached Hugging Face model");
}

}  // namespace bb::io
