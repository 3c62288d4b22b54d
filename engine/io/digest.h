#pragma once
// Streaming SHA-256 / SHA-1 (OpenSSL libcrypto) for verifying downloads: LFS files are named by
// the sha256 of their content, regular git files by the git blob sha1 ("blob <size>\0" + content).
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bb::io {

class Digest {
 public:
  enum class Kind { Sha256, Sha1 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::span<const uint8_t> bytes);
  void update(const std::string& s) { update({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  std::string hex();  // finishes the digest

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hex digest of a whole file (streamed); throws bb::Error if it cannot be read.
std::string file_sha256(const std::string& path);
std::string file_git_blob_sha1(const std::string& path);

}  // namespace bb::io
