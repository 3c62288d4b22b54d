// write_file_atomic / AtomicFileWriter: the old file survives every failure (a full disk, a crash
// half-way, a failing rename), the temp file never lingers after an error, errors name the path
// and the OS reason. Disk-full is simulated with RLIMIT_FSIZE, which makes write() fail with
// EFBIG after a partial write, exactly as ENOSPC does, and works for root too.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "tests/engine/io/io_test_util.h"

using bb::testing::error_of;
using bb::testing::read_bytes;
using bb::testing::TempDir;
namespace io = bb::io;

namespace {

std::string read_text(const std::string& path) {
  const auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// Caps the size of files this process may write; restores the limit and SIGXFSZ on scope exit.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing us
    rlimit r = saved_;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  const std::string path = dir.file("config.json");
  io::write_file_atomic(path, std::string("first"));
  EXPECT_EQ(read_text(path), "first");
  io::write_file_atomic(path, std::string("second, longer"));
  EXPECT_EQ(read_text(path), "second, longer");
  const std::vector<uint8_t> bin = {0, 1, 2, 255};
  io::write_file_atomic(path, std::span<const uint8_t>(bin));
  EXPECT_EQ(read_bytes(path), bin);
  io::write_file_atomic(path, std::string());
  EXPECT_EQ(read_text(path), "");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"config.json"}) << "no temp file may be left behind";
  EXPECT_EQ(io::read_text_file(path), "");
}

TEST(AtomicFile, ReplacedFileKeepsItsPermissions) {
  TempDir dir;
  const std::string path = dir.file("secret.json");
  io::write_file_atomic(path, std::string("a"));
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  io::write_file_atomic(path, std::string("b"));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AtomicFile, DiskFullLeavesOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::write_file_atomic(path, std::string("the old, complete file"));
  const std::vector<uint8_t> big(1 << 20, 0xAB);
  std::string msg;
  {
    FileSizeLimit limit(64 * 1024);  // the new file stops after 64 KiB
    msg = error_of([&] { io::write_file_atomic(path, std::span<const uint8_t>(big)); });
  }
  EXPECT_EQ(msg, "cannot write " + path + ": " + std::strerror(EFBIG)) << msg;
  EXPECT_EQ(read_text(path), "the old, complete file");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(AtomicFile, DiskFullOnANewFileLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("new.bin");
  const std::vector<uint8_t> big(200000, 1);
  std::string msg;
  {
    FileSizeLimit limit(4096);
    io::AtomicFileWriter w(path);
    w.write(std::span<const uint8_t>(big.data(), 1000));  // fits
    msg = error_of([&] { w.write(std::span<const uint8_t>(big)); });
    EXPECT_NE(error_of([&] { w.commit(); }).find("already committed or abandoned"), std::string::npos);
  }
  EXPECT_NE(msg.find(path), std::string::npos);
  EXPECT_NE(msg.find("File too large"), std::string::npos);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, ProcessKilledMidWriteLeavesOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("weights.bin");
  io::write_file_atomic(path, std::string("old weights"));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Default SIGXFSZ action: the kernel kills the writer part-way through the data.
    signal(SIGXFSZ, SIG_DFL);
    rlimit r{};
    getrlimit(RLIMIT_FSIZE, &r);
    r.rlim_cur = 10000;
    setrlimit(RLIMIT_FSIZE, &r);
    const std::vector<uint8_t> big(1 << 20, 7);
    try {
      io::write_file_atomic(path, std::span<const uint8_t>(big));
    } catch (...) {
    }
    _exit(0);  // not reached when the signal kills us
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child should have been killed mid-write";
  EXPECT_EQ(WTERMSIG(status), SIGXFSZ);
  EXPECT_EQ(read_text(path), "old weights");
  // A crash cannot clean up: the partial temp file remains, under a name that is never read.
  for (const auto& name : dir.entries())
    EXPECT_TRUE(name == "weights.bin" || name.rfind("weights.bin.tmp-", 0) == 0) << name;
}

TEST(AtomicFile, FailedRenameRemovesTheTempFile) {
  TempDir dir;
  const std::string path = dir.file("out.json");
  io::AtomicFileWriter w(path);
  w.write(std::string_view("data"));
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);  // the target becomes a non-empty directory meanwhile
  ASSERT_EQ(mkdir((path + "/x").c_str(), 0755), 0);
  const std::string msg = error_of([&] { w.commit(); });
  EXPECT_EQ(msg.rfind("cannot write " + path + ": rename failed: ", 0), 0u) << msg;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.json"});
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(AtomicFile, AbandonedWriterLeavesOldFile) {
  TempDir dir;
  const std::string path = dir.file("a.txt");
  io::write_file_atomic(path, std::string("keep"));
  {
    io::AtomicFileWriter w(path);
    w.write(std::string_view("half-written"));
    EXPECT_EQ(dir.entries().size(), 2u);
  }  // destroyed without commit(), e.g. by an exception while serialising
  EXPECT_EQ(read_text(path), "keep");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, RefusesDirectoriesAndDevices) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { io::write_file_atomic(dir.path, std::string("x")); }), "cannot write " + dir.path + ": it is a directory");
  // /dev/null must never be renamed over (that would replace the device node).
  EXPECT_EQ(error_of([&] { io::write_file_atomic("/dev/null", std::string("x")); }),
            "cannot write /dev/null: not a regular file");
  struct stat st {};
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  const std::string missing = dir.file("nope/file.txt");
  const std::string msg = error_of([&] { io::write_file_atomic(missing, std::string("x")); });
  EXPECT_EQ(msg.rfind("cannot write " + missing + ": cannot create " + missing + ".tmp-", 0), 0u) << msg;
  EXPECT_NE(msg.find(": No such file or directory"), std::string::npos) << msg;
  EXPECT_EQ(error_of([&] { io::write_file_atomic("", std::string("x")); }), "cannot write a file with an empty path");
}

TEST(AtomicFile, SymlinkTargetIsReplacedAndLinkKept) {
  TempDir dir;
  const std::string real = dir.file("real.json"), link = dir.file("link.json");
  io::write_file_atomic(real, std::string("v1"));
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  io::write_file_atomic(link, std::string("v2"));
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_text(real), "v2");
}

TEST(AtomicFile, ReadOnlyDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions; covered by the RLIMIT tests";
  TempDir dir;
  const std::string path = dir.file("f.txt");
  io::write_file_atomic(path, std::string("old"));
  ASSERT_EQ(chmod(dir.path.c_str(), 0555), 0);
  const std::string msg = error_of([&] { io::write_file_atomic(path, std::string("new")); });
  chmod(dir.path.c_str(), 0755);
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
  EXPECT_EQ(read_text(path), "old");
}

TEST(ReadTextFile, ErrorsNameThePath) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { io::read_text_file(dir.file("missing.json")); }),
            "cannot read " + dir.file("missing.json") + ": No such file or directory");
  EXPECT_EQ(error_of([&] { io::read_text_file(dir.path); }), "cannot read " + dir.path + ": it is a directory");
  io::write_file_atomic(dir.file("t.json"), std::string("{\"a\": 1}\n"));
  EXPECT_EQ(io::read_text_file(dir.file("t.json")), "{\"a\": 1}\n");
}
