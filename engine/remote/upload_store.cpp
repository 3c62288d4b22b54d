#include "engine/remote/upload_store.h"

#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/io/digest.h"
#include "engine/remote/protocol.h"

namespace fs = std::filesystem;

namespace bb::remote {

UploadStore::UploadStore(std::string root, uint64_t max_file_bytes) : root_(std::move(root)), max_file_bytes_(max_file_bytes) {
  std::error_code ec;
  fs::create_directories(root_ + "/files", ec);
  fs::create_directories(root_ + "/partial", ec);
  if (ec) throw Error(root_ + ": cannot create the upload directory (" + ec.message() + ")");
}

std::string UploadStore::checked(const std::string& name) const {
  if (const std::string p = relative_path_problem(name); !p.empty()) throw UploadError(400, "upload name '" + name + "': " + p);
  return name;
}

nlohmann::json UploadStore::status(const std::string& name) const {
  checked(name);
  std::lock_guard lock(mu_);
  std::error_code ec;
  const std::string done = root_ + "/files/" + name, part = root_ + "/partial/" + name;
  nlohmann::json j = {{"name", name}, {"complete", false}, {"received", 0}};
  if (fs::is_regular_file(part, ec)) j["received"] = fs::file_size(part, ec);
  if (fs::is_regular_file(done, ec)) {
    j["complete"] = true;
    j["size"] = fs::file_size(done, ec);
    j["sha256"] = io::file_sha256(done);
  }
  return j;
}

nlohmann::json UploadStore::list() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  const fs::path base = root_ + "/files";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) out.push_back({{"name", fs::relative(it->path(), base).string()}, {"size", it->file_size()}});
  return out;
}

uint64_t UploadStore::append(const std::string& name, uint64_t offset, std::string_view bytes) {
  checked(name);
  std::lock_guard lock(mu_);
  const fs::path part = root_ + "/partial/" + name;
  std::error_code ec;
  fs::create_directories(part.parent_path(), ec);
  if (ec) throw UploadError(409, "upload '" + name + "': a path component is a file (" + ec.message() + ")");
  const uint64_t have = fs::is_regular_file(part, ec) ? fs::file_size(part, ec) : 0;
  if (offset != have)
    throw UploadError(409, "upload '" + name + "': offset " + std::to_string(offset) + " but the server has " + std::to_string(have) + " bytes");
  if (have + bytes.size() > max_file_bytes_)
    throw UploadError(413, "upload '" + name + "': larger than the server's limit of " + std::to_string(max_file_bytes_) + " bytes");
  std::ofstream out(part, std::ios::binary | std::ios::app);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.flush();
  if (!out) throw UploadError(507, "upload '" + name + "': cannot write on the server (disk full?)");
  return have + bytes.size();
}

nlohmann::json UploadStore::complete(const std::string& name, uint64_t size, const std::string& sha256) {
  checked(name);
  std::lock_guard lock(mu_);
  const fs::path part = root_ + "/partial/" + name, done = root_ + "/files/" + name;
  std::error_code ec;
  if (!fs::is_regular_file(part, ec)) {
    // Completing twice is harmless when the finished file is the one described.
    if (fs::is_regular_file(done, ec) && fs::file_size(done, ec) == size && io::file_sha256(done.string()) == sha256)
      return {{"name", name}, {"complete", true}, {"size", size}, {"sha256", sha256}};
    throw UploadError(409, "upload '" + name + "': nothing was received");
  }
  const uint64_t have = fs::file_size(part, ec);
  if (have != size)
    throw UploadError(409, "upload '" + name + "': " + std::to_string(have) + " bytes received, " + std::to_string(size) + " announced");
  const std::string got = io::file_sha256(part.string());
  if (got != sha256) {
    fs::remove(part, ec);
    throw UploadError(422, "upload '" + name + "': sha256 mismatch (received " + got + "); the upload was discarded");
  }
  fs::create_directories(done.parent_path(), ec);
  fs::rename(part, done, ec);
  if (ec) throw UploadError(409, "upload '" + name + "': cannot store it (" + ec.message() + ")");
  return {{"name", name}, {"complete", true}, {"size", size}, {"sha256", sha256}};
}

std::string UploadStore::resolve(const std::string& name) const {
  if (const std::string p = relative_path_problem(name); !p.empty()) throw Error("upload '" + name + "': " + p);
  const std::string path = root_ + "/files/" + name;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("upload '" + name + "' does not exist on the server (upload it first)");
  return path;
}

}  // namespace bb::remote
