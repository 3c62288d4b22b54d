#include "engine/core/resource_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace bb {

namespace fs = std::filesystem;

namespace {

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::string installed_resource_dir(const std::string& exe_dir) {
  return (fs::path(exe_dir) / ".." / "share" / "bigbird-studio").lexically_normal().string();
}

std::string resource_dir() {
  if (const char* env = std::getenv("BIGBIRD_RESOURCES"); env && *env) return env;
  if (const std::string exe = executable_dir(); !exe.empty()) {
    const std::string installed = installed_resource_dir(exe);
    std::error_code ec;
    if (fs::is_directory(fs::path(installed) / "vocab", ec)) return installed;
  }
  return BIGBIRD_RESOURCE_DIR;
}

std::string resource_path(const std::string& relative) { return resource_dir() + "/" + relative; }

}  // namespace bb
