// The programs refuse a CPU older than the x86-64 level the engine was compiled for, with one clear
// line and exit code 1, before any engine code runs (app/cpu_guard.cpp). A real old CPU is not at
// hand, so BIGBIRD_CPU_CHECK_AS makes the guard see one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/engine/support/cli.h"

namespace {

// "x86-64-v3" from "bigbird 0.1.0 (engine kernels: x86-64-v3)".
std::string build_level() {
  const bbtest::CliResult r = bbtest::run_cli({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string key = "(engine kernels: ";
  const size_t at = r.out.find(key);
  EXPECT_NE(at, std::string::npos) << r.out;
  if (at == std::string::npos) return "";
  return r.out.substr(at + key.size(), r.out.find(')', at) - at - key.size());
}

struct PretendCpu {
  explicit PretendCpu(const char* level) { ::setenv("BIGBIRD_CPU_CHECK_AS", level, 1); }
  ~PretendCpu() { ::unsetenv("BIGBIRD_CPU_CHECK_AS"); }
};

}  // namespace

TEST(CpuGuard, VersionNamesTheEngineLevel) {
  const std::string level = build_level();
  EXPECT_FALSE(level.empty());
}

TEST(CpuGuard, OlderCpuGetsOneClearLine) {
  const std::string level = build_level();
  if (level.rfind("x86-64-v", 0) != 0) GTEST_SKIP() << "built for '" << level << "': no level to enforce";
  PretendCpu old_cpu("x86-64");
  const bbtest::CliResult r = bbtest::run_cli({"--version"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;  // refused before main(): nothing else ran
  EXPECT_NE(r.err.find("this build needs an " + level + " CPU"), std::string::npos) << r.err;
  EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
}

TEST(CpuGuard, CpuAtTheBuildLevelRuns) {
  const std::string level = build_level();
  if (level.rfind("x86-64-v", 0) != 0) GTEST_SKIP() << "built for '" << level << "': no level to enforce";
  PretendCpu same_cpu(level.c_str());
  const bbtest::CliResult r = bbtest::run_cli({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
}
