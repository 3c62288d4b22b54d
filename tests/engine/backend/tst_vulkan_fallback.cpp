// Every way the Vulkan backend can fail ends on the CPU with the same numbers and one visible line
// saying why: forced allocation failure, a forced kernel mismatch in the self-test, a device lost
// at submission and mid-session, no Vulkan driver at all, and through the CLI. The no-driver and
// CLI-contract cases run even on machines without any Vulkan device.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "engine/backend/backend.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "tests/engine/backend/backend_test_util.h"
#include "tests/engine/backend/vulkan_test_util.h"
#include "tests/engine/support/golden.h"

using namespace bb;

namespace {

const std::string kCase = "b_sparse_train_512";

using bbtest::ScopedEnv;

using bbtest::Notices;

EncoderInputs inputs() {
  io::SafetensorsFile in = io::SafetensorsFile::open(bbtest::data_path("hf-golden/" + kCase + "/inputs.safetensors"));
  EncoderInputs x;
  x.input_ids = in.read_i64("input_ids");
  x.attention_mask = in.read_i64("attention_mask");
  return x;
}

EncoderOutputs forward(backend::Kind kind) {
  BigBirdModel model = BigBirdModel::load(bbtest::data_path("hf-golden/" + kCase));
  EncoderOptions opt;
  opt.backend = kind;
  opt.head = Head::MaskedLM;
  return model.forward(inputs(), opt);
}

void expect_identical(const Tensor& a, const Tensor& b, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(float)))
      << what << " differs from the CPU run";
}

// Runs the Vulkan backend under BIGBIRD_VK_FAULT=fault and expects the CPU's exact outputs, one
// notice containing `why`, and "cpu (fallback: ...)" as the backend that ran.
void expect_fallback(const std::string& fault, const std::string& why) {
  const EncoderOutputs cpu = forward(backend::Kind::Cpu);
  ScopedEnv env("BIGBIRD_VK_FAULT", fault);
  Notices notices;
  const EncoderOutputs got = forward(backend::Kind::Vulkan);
  ASSERT_EQ(notices.lines.size(), 1u) << "expected exactly one notice";
  const std::string& line = notices.lines[0];
  EXPECT_EQ(line.find('\n'), std::string::npos) << "the notice must be one line: " << line;
  EXPECT_NE(line.find("vulkan backend unavailable ("), std::string::npos) << line;
  EXPECT_NE(line.find("running on the CPU"), std::string::npos) << line;
  EXPECT_NE(line.find(why), std::string::npos) << line;
  EXPECT_EQ(got.backend.rfind("cpu (fallback: ", 0), 0u) << got.backend;
  expect_identical(got.last_hidden_state, cpu.last_hidden_state, "last_hidden_state");
  expect_identical(got.logits, cpu.logits, "logits");
}

class VulkanFallback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (vk::validation_layer_available()) validate_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_VALIDATE", "1");
    cache_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_PIPELINE_CACHE_DIR", "none");
  }
  std::unique_ptr<ScopedEnv> validate_, cache_;
};

struct CliResult {
  int code = -1;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs the CLI with extra environment assignments ("NAME=value ...").
CliResult run_cli(const std::string& env, const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/vk_cli_out.txt", err = dir + "/vk_cli_err.txt";
  const std::string cmd = env + " '" + std::string(BIGBIRD_CLI) + "' " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string forward_args(const std::string& backend, const std::string& out) {
  const std::string dir = bbtest::data_path("hf-golden/" + kCase);
  return "forward --model '" + dir + "' --inputs '" + dir + "/inputs.safetensors' --out '" + out +
         "' --head mlm --backend " + backend;
}

}  // namespace

TEST_F(VulkanFallback, ForcedAllocationFailure) {
  BB_REQUIRE_VULKAN();
  // 256 KiB of device memory: enough for the self-test, not for the model's position table.
  expect_fallback("alloc:262144", "VK_ERROR_OUT_OF_DEVICE_MEMORY");
}

TEST_F(VulkanFallback, AllocationFailureDuringTheSelfTest) {
  BB_REQUIRE_VULKAN();
  expect_fallback("alloc", "VK_ERROR_OUT_OF_DEVICE_MEMORY");
}

TEST_F(VulkanFallback, ForcedKernelMismatch) {
  BB_REQUIRE_VULKAN();
  expect_fallback("mismatch:attention_block_sparse", "self-test mismatch: attention_block_sparse");
}

TEST_F(VulkanFallback, ForcedMismatchOfAnyKernel) {
  BB_REQUIRE_VULKAN();
  expect_fallback("mismatch", "MISMATCH");
}

TEST_F(VulkanFallback, DeviceLostAtSubmission) {
  BB_REQUIRE_VULKAN();
  expect_fallback("lost", "VK_ERROR_DEVICE_LOST");
}

TEST_F(VulkanFallback, DeviceLostMidSession) {
  BB_REQUIRE_VULKAN();
  const EncoderOutputs cpu = forward(backend::Kind::Cpu);
  BigBirdModel model = BigBirdModel::load(bbtest::data_path("hf-golden/" + kCase));
  EncoderOptions opt;
  opt.backend = backend::Kind::Vulkan;
  opt.head = Head::MaskedLM;
  Notices notices;
  const EncoderOutputs first = model.forward(inputs(), opt);
  ASSERT_EQ(first.backend.rfind("vulkan (", 0), 0u) << first.backend;
  ASSERT_TRUE(notices.lines.empty());

  // The same device the model uses (same options -> the process's shared device), lost now.
  std::string reason;
  std::shared_ptr<vk::Device> device = vk::acquire_device(vk::DeviceOptions::from_environment(), &reason);
  ASSERT_TRUE(device) << reason;
  device->mark_lost();
  const EncoderOutputs second = model.forward(inputs(), opt);
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_NE(notices.lines[0].find("lost"), std::string::npos) << notices.lines[0];
  expect_identical(second.last_hidden_state, cpu.last_hidden_state, "after device loss");

  // Later passes, and new models, do not touch the lost device again.
  const EncoderOutputs third = forward(backend::Kind::Vulkan);
  EXPECT_EQ(third.backend.rfind("cpu (fallback: ", 0), 0u) << third.backend;
  EXPECT_FALSE(vk::acquire_device(vk::DeviceOptions::from_environment(), &reason));
  EXPECT_NE(reason.find("lost"), std::string::npos) << reason;
}

TEST_F(VulkanFallback, AutoNeverPicksACpuImplementation) {
  BB_REQUIRE_VULKAN();
  const auto devices = vk::list_devices();
  bool gpu = false;
  for (const auto& d : devices) gpu |= d.usable && d.vk_type != VK_PHYSICAL_DEVICE_TYPE_CPU;
  Notices notices;
  const EncoderOutputs got = forward(backend::Kind::Auto);
  if (gpu) {
    EXPECT_EQ(got.backend.rfind("vulkan (", 0), 0u) << got.backend;
  } else {
    EXPECT_EQ(got.backend.rfind("cpu (fallback: ", 0), 0u) << got.backend;
    ASSERT_EQ(notices.lines.size(), 1u);
    EXPECT_NE(notices.lines[0].find("auto backend unavailable (no usable Vulkan device"), std::string::npos)
        << notices.lines[0];
  }
}

TEST(VulkanFallbackCli, NoDriverFallsBackWithOneLine) {
  // Runs everywhere: the loader finds no driver, the CLI says so in one line and computes on the CPU.
  const std::string dir = ::testing::TempDir();
  const CliResult cpu = run_cli("", forward_args("cpu", dir + "/cpu.safetensors"));
  ASSERT_EQ(cpu.code, 0) << cpu.err;
  const std::string no_driver = "VK_DRIVER_FILES=/nonexistent.json VK_ICD_FILENAMES=/nonexistent.json";
  const CliResult vk = run_cli(no_driver, forward_args("vulkan", dir + "/vk.safetensors"));
  ASSERT_EQ(vk.code, 0) << vk.err;
  EXPECT_NE(vk.err.find("bigbird: vulkan backend unavailable ("), std::string::npos) << vk.err;
  EXPECT_NE(vk.err.find("ran on cpu (fallback: "), std::string::npos) << vk.err;
  int notice_lines = 0;
  for (size_t at = 0; (at = vk.err.find("vulkan backend unavailable", at)) != std::string::npos; ++at) ++notice_lines;
  EXPECT_EQ(notice_lines, 1) << vk.err;
  EXPECT_EQ(read_file(dir + "/vk.safetensors"), read_file(dir + "/cpu.safetensors"));

  const CliResult devices = run_cli(no_driver, "devices");
  EXPECT_EQ(devices.code, 0) << devices.err;
  EXPECT_NE(devices.out.find("no Vulkan devices"), std::string::npos) << devices.out;
}

TEST(VulkanFallbackCli, ForcedMismatchThroughTheCli) {
  BB_REQUIRE_VULKAN();
  const std::string dir = ::testing::TempDir();
  const CliResult cpu = run_cli("", forward_args("cpu", dir + "/cpu2.safetensors"));
  ASSERT_EQ(cpu.code, 0) << cpu.err;
  const CliResult vk = run_cli("BIGBIRD_VK_FAULT=mismatch:gemm BIGBIRD_VK_PIPELINE_CACHE_DIR=none",
                               forward_args("vulkan", dir + "/vk2.safetensors"));
  ASSERT_EQ(vk.code, 0) << vk.err;
  EXPECT_NE(vk.err.find("self-test mismatch: gemm"), std::string::npos) << vk.err;
  EXPECT_EQ(read_file(dir + "/vk2.safetensors"), read_file(dir + "/cpu2.safetensors"));
}

TEST(VulkanFallbackCli, UnknownBackendIsAnError) {
  const CliResult r = run_cli("", forward_args("cuda", ::testing::TempDir() + "/x.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown backend 'cuda' (expected cpu, vulkan or auto)"), std::string::npos) << r.err;
}
