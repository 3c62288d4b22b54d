#pragma once
// Helpers shared by the engine/io tests: a self-deleting temp directory, whole-file reads and
// writes, and "the message of the bb::Error this throws".
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace bb::testing {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bigbird-io-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    if (!p) std::abort();
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
    return names;
  }
};

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// The message of the bb::Error that `fn` throws; "<no error>" if it returns normally.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const bb::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace bb::testing
