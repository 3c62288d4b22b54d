#include "engine/remote/remote_job.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <thread>

#include "engine/io/digest.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bb::remote {

namespace {

bool safe_component(const std::string& s) {
  if (s.empty() || s[0] == '.') return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') return false;
  return true;
}

std::string safe_stem(const fs::path& p) {
  std::string s;
  for (char ch : p.stem().string()) s += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' ? ch : '_';
  if (s.empty() || s[0] == '.' || s[0] == '_') s = "file" + s;
  return s.substr(0, 60);
}

std::function<void(uint64_t, uint64_t)> per_file(const UploadProgress& progress, const std::string& file) {
  if (!progress) return {};
  return [progress, file](uint64_t done, uint64_t total) { progress(file, done, total); };
}

}  // namespace

std::string upload_by_content(Client& c, const std::string& local_path, const UploadProgress& progress) {
  const fs::path p(local_path);
  std::string ext = p.extension().string();
  if (!safe_component("x" + ext)) ext.clear();
  const std::string name = safe_stem(p) + "-" + io::file_sha256(local_path).substr(0, 16) + ext;
  c.upload(local_path, name, per_file(progress, p.filename().string()));
  return "uploads/" + name;
}

std::string upload_model_dir(Client& c, const std::string& dir, const std::string& tokenizer, const UploadProgress& progress) {
  std::vector<std::pair<std::string, std::string>> files;  // remote file name, local path
  bool has_tokenizer = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !safe_component(name)) continue;
    if (name == "spiece.model" || name == "vocab.txt" || e.path().extension() == ".model") has_tokenizer = true;
    files.emplace_back(name, e.path().string());
  }
  if (ec) throw Error(dir + ": cannot list the model folder: " + ec.message());
  if (files.empty()) throw Error(dir + ": the model folder has no files to upload");
  if (!has_tokenizer && !tokenizer.empty()) files.emplace_back("spiece.model", tokenizer);
  std::sort(files.begin(), files.end());
  std::string fingerprint;
  for (const auto& [name, path] : files) fingerprint += name + ":" + io::file_sha256(path) + "\n";
  io::Digest digest(io::Digest::Kind::Sha256);
  digest.update(fingerprint);
  const std::string folder = "model-" + digest.hex().substr(0, 16);
  for (const auto& [name, path] : files) c.upload(path, folder + "/" + name, per_file(progress, name));
  return "uploads/" + folder;
}

json run_job(const ClientOptions& options, const json& spec, const std::function<void(const json&)>& on_event,
             const std::function<bool()>& cancelled) {
  Client control(options);
  const std::string id = control.submit(spec)["id"];
  std::atomic<bool> done{false};
  std::exception_ptr failure;
  std::thread stream([&] {
    try {
      Client c(options);
      c.events(id, 0, [&](const json& e) {
        on_event(e);
        return true;
      });
    } catch (...) {
      failure = std::current_exception();
    }
    done.store(true);
  });
  bool cancel_sent = false;
  auto next_try = std::chrono::steady_clock::now();
  while (!done.load()) {
    // A cancel the runner did not get (a dropped connection) is sent again each second.
    if (!cancel_sent && cancelled() && std::chrono::steady_clock::now() >= next_try) {
      try {
        control.cancel(id);
        cancel_sent = true;
      } catch (const RemoteError& e) {
        cancel_sent = e.status == 409;  // 409: it had already ended
      } catch (const Error&) {
      }
      next_try = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stream.join();
  if (failure) std::rethrow_exception(failure);
  return control.job(id);
}

std::vector<std::string> fetch_artifacts(Client& c, const std::string& id, const std::string& prefix,
                                         const std::string& local_dir) {
  std::vector<std::string> out;
  for (const json& a : c.artifacts(id)) {
    const std::string path = a["path"];
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) continue;
    const std::string local = (fs::path(local_dir) / path.substr(prefix.size())).string();
    c.fetch(id, path, local);
    out.push_back(local);
  }
  return out;
}

}  // namespace bb::remote
