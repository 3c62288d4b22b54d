#include "engine/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_strict.h"
#include "engine/io/safetensors.h"

namespace bb::train {

namespace fs = std::filesystem;

namespace {

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", (long long)step);
  return buf;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string state_json(const TrainerState& s) {
  nlohmann::json j;
  j["step"] = s.step;
  j["losses"] = s.losses;  // nlohmann writes doubles with round-trip precision
  j["fingerprint"] = nlohmann::json::parse(s.fingerprint.empty() ? "{}" : s.fingerprint);
  return j.dump(1) + "\n";
}

}  // namespace

std::string save_checkpoint(const std::string& out_dir, const TrainableBigBird& model, const Optimizer& optimizer,
                            const TrainerState& state, int keep) {
  return save_checkpoint(out_dir, [&](const std::string& dir) { model.save_pretrained(dir); }, optimizer, state, keep);
}

std::string save_checkpoint(const std::string& out_dir, const std::function<void(const std::string&)>& save_model,
                            const Optimizer& optimizer, const TrainerState& state, int keep) {
  const fs::path root = fs::path(out_dir) / "checkpoints";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw Error(root.string() + ": cannot create the checkpoint directory (" + ec.message() + ")");
  const std::string name = step_name(state.step);
  const fs::path final_dir = root / name;
  const fs::path tmp = root / (name + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  try {
    save_model(tmp.string());
    io::SafetensorsWriter w;
    w.set_metadata("optimizer", to_string(optimizer.config().kind));
    w.set_metadata("step", std::to_string(optimizer.steps()));
    for (const auto& [n, t] : optimizer.m()) w.add("m." + n, t);
    for (const auto& [n, t] : optimizer.v()) w.add("v." + n, t);
    w.write((tmp / "optimizer.safetensors").string());
    io::write_file_atomic((tmp / "trainer_state.json").string(), state_json(state));
    fs::remove_all(final_dir, ec);  // a checkpoint of the same step from an interrupted earlier run
    fs::rename(tmp, final_dir);
    fsync_dir(root);
    io::write_file_atomic((root / "latest").string(), name + "\n");
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    const std::optional<std::string> prev = latest_checkpoint(out_dir);
    throw Error("saving checkpoint " + name + " failed: " + e.what() +
                (prev ? " (the previous checkpoint " + fs::path(*prev).filename().string() + " is intact)" : ""));
  }
  if (keep > 0) {
    std::vector<fs::path> all;
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory() && entry.path().filename().string().rfind("step-", 0) == 0 &&
          entry.path().filename().string().find(".tmp") == std::string::npos)
        all.push_back(entry.path());
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i + size_t(keep) < all.size(); ++i)
      if (all[i] != final_dir) fs::remove_all(all[i], ec);
  }
  return final_dir.string();
}

std::optional<std::string> latest_checkpoint(const std::string& out_dir) {
  const fs::path root = fs::path(out_dir) / "checkpoints";
  const fs::path latest = root / "latest";
  if (!fs::exists(latest)) return std::nullopt;
  std::string name = io::read_text_file(latest.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r' || name.back() == ' ')) name.pop_back();
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error(latest.string() + ": does not name a checkpoint directory");
  const fs::path dir = root / name;
  if (!fs::is_directory(dir)) throw Error(latest.string() + ": points to " + dir.string() + ", which does not exist");
  return dir.string();
}

LoadedCheckpoint load_checkpoint_state(const std::string& dir, Optimizer& optimizer) {
  LoadedCheckpoint out;
  out.dir = dir;
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  const nlohmann::json j = io::parse_json_strict(io::read_text_file(state_path), state_path);
  if (!j.contains("step") || !j["step"].is_number_integer()) throw Error(state_path + ": missing \"step\"");
  out.state.step = j["step"].get<int64_t>();
  if (j.contains("losses")) out.state.losses = j["losses"].get<std::vector<double>>();
  if (j.contains("fingerprint")) out.state.fingerprint = j["fingerprint"].dump();
  io::SafetensorsFile f = io::SafetensorsFile::open((fs::path(dir) / "optimizer.safetensors").string());
  std::map<std::string, Tensor> m, v;
  for (const io::TensorInfo& info : f.tensors()) {
    if (info.name.rfind("m.", 0) == 0)
      m[info.name.substr(2)] = f.read_f32(info.name);
    else if (info.name.rfind("v.", 0) == 0)
      v[info.name.substr(2)] = f.read_f32(info.name);
    else
      throw Error(f.path() + ": unexpected tensor '" + info.name + "'");
  }
  const auto it = f.metadata().find("step");
  if (it == f.metadata().end()) throw Error(f.path() + ": no optimizer step in the metadata");
  optimizer.restore(std::stoll(it->second), std::move(m), std::move(v));
  return out;
}

}  // namespace bb::train
