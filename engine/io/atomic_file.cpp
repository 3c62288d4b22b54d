#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace bb::io {

namespace {

std::string os_reason(int err) { return std::strerror(err); }

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string make_temp_path(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Makes the rename durable. Some file systems refuse fsync on a directory (EINVAL): not an error.
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw Error("cannot write a file with an empty path");
  std::string target = path_;
  struct stat link_stat {};
  if (::lstat(path_.c_str(), &link_stat) == 0 && S_ISLNK(link_stat.st_mode)) {
    char* resolved = ::realpath(path_.c_str(), nullptr);
    if (!resolved) {
      const int err = errno;
      throw Error("cannot write " + path_ + ": cannot resolve the symbolic link: " + os_reason(err));
    }
    target = resolved;
    std::free(resolved);
  }
  struct stat old_stat {};
  const bool replacing = ::stat(target.c_str(), &old_stat) == 0;
  if (replacing && S_ISDIR(old_stat.st_mode)) throw Error("cannot write " + path_ + ": it is a directory");
  if (replacing && !S_ISREG(old_stat.st_mode)) throw Error("cannot write " + path_ + ": not a regular file");
  target_ = target;
  temp_path_ = make_temp_path(target_);
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int err = errno;
    throw Error("cannot write " + path_ + ": cannot create " + temp_path_ + ": " + os_reason(err));
  }
  if (replacing) ::fchmod(fd_, old_stat.st_mode & 07777);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!done_) abandon();
}

void AtomicFileWriter::abandon() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  done_ = true;
}

void AtomicFileWriter::fail(const std::string& what, int err) {
  abandon();
  throw Error("cannot write " + path_ + ": " + what + os_reason(err));
}

void AtomicFileWriter::write(std::span<const uint8_t> bytes) {
  if (done_) throw Error("cannot write " + path_ + ": the file was already committed or abandoned");
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("", errno);
    }
    if (n == 0) fail("", EIO);
    p += n;
    left -= size_t(n);
  }
}

void AtomicFileWriter::write(std::string_view text) {
  write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void AtomicFileWriter::commit() {
  if (done_) throw Error("cannot write " + path_ + ": the file was already committed or abandoned");
  if (::fsync(fd_) != 0) fail("fsync failed: ", errno);
  // close() can report a delayed write error (NFS, quota): the data is not safe then.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed: ", errno);
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) fail("rename failed: ", errno);
  done_ = true;
  sync_directory(directory_of(target_));
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
  AtomicFileWriter w(path);
  w.write(bytes);
  w.commit();
}

void write_file_atomic(const std::string& path, const std::string& text) {
  AtomicFileWriter w(path);
  w.write(std::string_view(text));
  w.commit();
}

std::string read_text_file(const std::string& path) {
  constexpr off_t kMaxTextFile = off_t(256) << 20;  // config/tokenizer JSON; anything bigger is not text
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw Error("cannot read " + path + ": " + os_reason(err));
  }
  if (S_ISDIR(st.st_mode)) throw Error("cannot read " + path + ": it is a directory");
  if (S_ISREG(st.st_mode) && st.st_size > kMaxTextFile)
    throw Error("cannot read " + path + ": " + std::to_string(st.st_size) + " bytes is too large for a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw Error("cannot read " + path + ": " + os_reason(err ? err : EIO));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path + ": I/O error");
  return ss.str();
}

}  // namespace bb::io
