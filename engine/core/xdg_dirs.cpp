#include "engine/core/xdg_dirs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "engine/core/error.h"

namespace bb::xdg {

namespace fs = std::filesystem;

namespace {

std::string home() {
  const char* h = std::getenv("HOME");
  if (h && *h == '/') return h;
  throw Error("HOME is not set to an absolute path: cannot locate the BigBird Studio data and config directories");
}

std::string xdg_or(const char* variable, const char* fallback_under_home) {
  const char* v = std::getenv(variable);
  if (v && *v == '/') return v;  // empty or relative values are invalid and ignored
  return home() + "/" + fallback_under_home;
}

}  // namespace

std::string data_home() { return xdg_or("XDG_DATA_HOME", ".local/share"); }
std::string config_home() { return xdg_or("XDG_CONFIG_HOME", ".config"); }
std::string app_data_dir() { return data_home() + "/" + kAppDirName; }
std::string app_config_dir() { return config_home() + "/" + kAppDirName; }

std::string ensure_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;
  const fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty() && parent != fs::path(dir)) ensure_dir(parent.string());
  if (::mkdir(dir.c_str(), 0700) != 0 && !fs::is_directory(dir, ec))
    throw Error(dir + ": cannot create the directory (" + std::error_code(errno, std::generic_category()).message() + ")");
  return dir;
}

}  // namespace bb::xdg
