// Every model-running command takes --backend cpu|vulkan|auto (and --device) through one parser.
// Work without a GPU path runs on the CPU: `vulkan` says so in one line, `auto` silently, and the
// results are byte-identical to --backend cpu. Bad flag values are one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/engine/support/golden.h"

namespace {

struct CliResult {
  int code = -1;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

CliResult run_cli(const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/flags_out.txt", err = dir + "/flags_err.txt";
  const std::string cmd = "'" + std::string(BIGBIRD_CLI) + "' " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

std::string golden(const std::string& name) { return bbtest::data_path("hf-golden/" + name); }

// Runs `args --backend <b> <out-option> <path>` for cpu, vulkan and auto; expects identical files,
// exactly one notice for vulkan naming `what`, and none for auto.
void expect_cpu_work(const std::string& args, const std::string& out_option, const std::string& what) {
  const std::string dir = ::testing::TempDir();
  const std::string notice = "bigbird: vulkan: " + what + " is not supported on the GPU yet; running on the CPU";
  std::string reference;
  for (const std::string backend : {"cpu", "vulkan", "auto"}) {
    const std::string path = dir + "/flags_" + backend + ".out";
    std::remove(path.c_str());
    const CliResult r = run_cli(args + " --backend " + backend + " " + out_option + " '" + path + "'");
    ASSERT_EQ(r.code, 0) << backend << ": " << r.err;
    EXPECT_EQ(count(r.err, notice), backend == "vulkan" ? 1 : 0) << backend << ": " << r.err;
    EXPECT_EQ(count(r.err, "vulkan:"), backend == "vulkan" ? 1 : 0) << backend << ": " << r.err;
    const std::string got = read_file(path);
    ASSERT_FALSE(got.empty()) << backend;
    if (backend == "cpu")
      reference = got;
    else
      EXPECT_TRUE(got == reference) << backend << " output differs from the CPU's";
  }
}

}  // namespace

TEST(BackendFlags, PegasusTeacherForcedForwardRunsOnTheCpuWithANotice) {
  const std::string m = golden("h_pegasus_512");
  expect_cpu_work("forward --model '" + m + "' --inputs '" + m + "/inputs.safetensors'", "--out",
                  "the BigBird-Pegasus model");
}

// BigBird training runs on the GPU (tst_vulkan_training_backend); BigBird-Pegasus training does not yet.
TEST(BackendFlags, PegasusGradRunsOnTheCpuWithANotice) {
  const std::string m = golden("h_pegasus_512");
  expect_cpu_work("grad --model '" + m + "' --inputs '" + bbtest::data_path("pegasus-grad") + "/inputs.safetensors'",
                  "--out", "BigBird-Pegasus training (forward + backward)");
}

TEST(BackendFlags, EveryModelCommandParsesTheSameFlags) {
  const std::string m = golden("h_pegasus_512");
  for (const std::string command : {"forward", "fill-mask", "summarize", "generate", "grad", "finetune"}) {
    const CliResult help = run_cli(command + " --help");
    EXPECT_EQ(help.code, 0) << command << ": " << help.err;
    EXPECT_NE((help.out + help.err).find("--backend cpu|vulkan|auto"), std::string::npos) << command;
    EXPECT_NE((help.out + help.err).find("--device"), std::string::npos) << command;

    const CliResult bad = run_cli(command + " --model '" + m + "' --backend cuda");
    EXPECT_EQ(bad.code, 1) << command;
    EXPECT_NE(bad.err.find("unknown backend 'cuda' (expected cpu, vulkan or auto)"), std::string::npos)
        << command << ": " << bad.err;
    EXPECT_EQ(count(bad.err, "\n"), 1) << command << ": " << bad.err;

    const CliResult cpu_device = run_cli(command + " --model '" + m + "' --backend cpu --device 0");
    EXPECT_EQ(cpu_device.code, 1) << command;
    EXPECT_NE(cpu_device.err.find("--device 0 needs --backend vulkan or auto"), std::string::npos)
        << command << ": " << cpu_device.err;
  }
}
