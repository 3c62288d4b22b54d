#include "engine/remote/token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/core/xdg_dirs.h"
#include "engine/io/atomic_file.h"
#include "engine/remote/protocol.h"

namespace fs = std::filesystem;

namespace bb::remote {

std::string read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": token file not found");
  if (st.st_mode & 077) throw Error(path + ": token file is readable by other users (run: chmod 600 " + path + ")");
  std::string t = io::read_text_file(path);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.size() < 16) throw Error(path + ": the token must be at least 16 characters");
  if (t.find_first_of(" \t\r\n") != std::string::npos) throw Error(path + ": the token must be one line without spaces");
  return t;
}

void write_private_file(const std::string& path, const std::string& text) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path() && !fs::exists(p.parent_path(), ec)) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw Error(p.parent_path().string() + ": cannot create the directory (" + ec.message() + ")");
    fs::permissions(p.parent_path(), fs::perms::owner_all, ec);
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(path + ": cannot write (" + std::string(std::strerror(errno)) + ")");
  ::fchmod(fd, 0600);  // O_CREAT's mode does not apply to a leftover temp file
  const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error(path + ": cannot write (disk full?)");
  }
}

std::string create_token_file(const std::string& path) {
  if (fs::exists(path)) throw Error(path + ": already exists; not replacing a token");
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::is_directory(dir)) throw Error(path + ": the directory " + dir.string() + " does not exist");
  const std::string token = random_hex(32);
  write_private_file(path, token + "\n");
  return token;
}

std::string runners_file() {
  if (const char* d = std::getenv("BIGBIRD_CONFIG_DIR"); d && *d) return std::string(d) + "/runners.json";
  return xdg::app_config_dir() + "/runners.json";
}

std::vector<SavedRunner> load_runners(const std::string& file) {
  std::vector<SavedRunner> out;
  if (!fs::exists(file)) return out;
  const nlohmann::json j = nlohmann::json::parse(io::read_text_file(file), nullptr, false);
  if (!j.is_object() || !j.contains("runners") || !j["runners"].is_array()) throw Error(file + ": not a runners file");
  for (const auto& r : j["runners"])
    out.push_back({r.value("name", ""), r.value("url", ""), r.value("token", ""), r.value("ca_cert", "")});
  return out;
}

void save_runners(const std::vector<SavedRunner>& runners, const std::string& file) {
  nlohmann::json arr = nlohmann::json::array();
  for (const SavedRunner& r : runners)
    arr.push_back({{"name", r.name}, {"url", r.url}, {"token", r.token}, {"ca_cert", r.ca_cert}});
  write_private_file(file, nlohmann::json{{"runners", arr}}.dump(1) + "\n");
}

SavedRunner find_runner(const std::string& name, const std::string& file) {
  for (const SavedRunner& r : load_runners(file))
    if (r.name == name) return r;
  throw Error("no runner named '" + name + "' (add it with: bigbird remote add " + name + " URL --token-file F)");
}

}  // namespace bb::remote
