#include "ui/finetune/run_outputs.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"

namespace bb::ui {

namespace fs = std::filesystem;

std::vector<CheckpointInfo> listCheckpoints(const std::string& outDir) {
  std::vector<CheckpointInfo> out;
  std::error_code ec;
  const fs::path root = fs::path(outDir) / "checkpoints";
  if (!fs::is_directory(root, ec)) return out;
  std::string latest;
  std::ifstream(root / "latest") >> latest;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0 || name.find('.') != std::string::npos) continue;
    CheckpointInfo c;
    c.name = name;
    c.dir = e.path().string();
    c.step = std::strtoll(name.c_str() + 5, nullptr, 10);
    for (const auto& f : fs::directory_iterator(e.path(), ec))
      if (f.is_regular_file()) c.bytes += uint64_t(f.file_size(ec));
    c.latest = name == latest;
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.step < b.step; });
  return out;
}

void exportModelDir(const std::string& src, const std::string& dst, const std::string& tokenizerPath) {
  std::error_code ec;
  fs::create_directories(dst, ec);
  if (ec) throw Error(dst + ": cannot create the export directory (" + ec.message() + ")");
  auto copy = [&](const fs::path& from, const std::string& name) {
    if (!fs::is_regular_file(from)) throw Error(from.string() + ": missing, cannot export");
    const fs::path tmp = fs::path(dst) / (name + ".tmp");
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, fs::path(dst) / name, ec);
    if (ec) {
      fs::remove(tmp);
      throw Error((fs::path(dst) / name).string() + ": export failed (" + ec.message() + ")");
    }
  };
  copy(fs::path(src) / "config.json", "config.json");
  copy(fs::path(src) / "model.safetensors", "model.safetensors");
  if (!tokenizerPath.empty())
    copy(tokenizerPath, fs::path(tokenizerPath).extension() == ".txt" ? "vocab.txt" : "spiece.model");
}

}  // namespace bb::ui
