#pragma once
// Atomic file replacement: write to "<path>.tmp-<pid>-<n>" in the same directory, fsync, rename.
// A reader of `path` sees either the complete old file or the complete new one, never a mix,
// even if the process is killed or the disk fills up half-way.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bb::io {

// Throws bb::Error naming the path and the OS reason (e.g. "No space left on device").
// On failure the previous file at `path` (if any) is untouched and the temp file removed.
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::string& path, const std::string& text);

std::string read_text_file(const std::string& path);  // throws bb::Error

// The streaming form, for files too large to assemble in memory first (checkpoints):
//   AtomicFileWriter w(path); w.write(a); w.write(b); w.commit();
// Destroying a writer that was not committed (an exception on the way) removes the temp file.
// A replaced file keeps its permission bits. If `path` is a symlink, the file it points to is
// replaced (the link stays); an existing target that is not a regular file (a directory, a device
// such as /dev/null) is refused rather than renamed over.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);  // creates the temp file; throws bb::Error
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::span<const uint8_t> bytes);  // throws bb::Error (and abandons the temp file)
  void write(std::string_view text);
  void commit();  // fsync, rename over `path`, fsync the directory; throws bb::Error

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  void abandon() noexcept;

  std::string path_, target_, temp_path_;  // target_: path_ with a symlink resolved
  int fd_ = -1;
  bool done_ = false;
};

}  // namespace bb::io
