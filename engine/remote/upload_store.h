#pragma once
// Uploaded documents, datasets and model files of the remote runner, by client-chosen relative
// names (protocol.h's path rule). A file is written in chunks at explicit offsets into
// <root>/partial/<name> (so an interrupted upload resumes where the server's copy ends) and
// becomes visible under <root>/files/<name> only when its size and sha256 were verified.
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace bb::remote {

class UploadError : public std::runtime_error {
 public:
  UploadError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;  // the HTTP status to answer with (400, 409, 413, 422)
};

class UploadStore {
 public:
  UploadStore(std::string root, uint64_t max_file_bytes);

  nlohmann::json status(const std::string& name) const;  // received, complete, size (sha256 when complete)
  nlohmann::json list() const;
  uint64_t append(const std::string& name, uint64_t offset, std::string_view bytes);  // new received size
  nlohmann::json complete(const std::string& name, uint64_t size, const std::string& sha256);

  // Absolute path of a completed upload (file or directory of files); throws bb::Error if absent.
  std::string resolve(const std::string& name) const;

 private:
  std::string checked(const std::string& name) const;  // throws UploadError(400) on a bad name
  std::string root_;
  uint64_t max_file_bytes_;
  mutable std::mutex mu_;
};

}  // namespace bb::remote
