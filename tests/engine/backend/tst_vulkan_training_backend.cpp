// Training behind the backend selection (engine/backend/train_backend): N optimizer steps through
// the Vulkan step runner give the CPU runner's losses and weights; forced faults (a kernel mismatch
// in the training self-test, a device lost mid-run) fall back to the CPU with one notice and the
// CPU's numbers; `bigbird grad` and `bigbird finetune` with --backend vulkan.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "engine/backend/backend.h"
#include "engine/backend/train_backend.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/io/safetensors.h"
#include "tests/engine/backend/backend_test_util.h"
#include "tests/engine/backend/vulkan_test_util.h"
#include "tests/engine/support/golden.h"
#include "tests/engine/train/finetune_test_util.h"
#include "tests/engine/train/train_test_util.h"

using namespace bb;

namespace {

using bbtest::ScopedEnv;

using bbtest::Notices;

double relative_error(const Tensor& got, const Tensor& want) {
  double scale = 0.0, worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    const double e = std::fabs(double(got[i]) - double(want[i]));
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst / (scale + 1e-12);
}

train::TrainBatch cls_batch(int64_t B, int64_t L, uint64_t seed) {
  train::TrainBatch b;
  b.input_ids = I64Tensor({B, L});
  b.labels = I64Tensor({B});
  for (int64_t i = 0; i < B * L; ++i) b.input_ids[i] = 4 + int64_t(bbtest::mix64(seed + uint64_t(i)) % 36);
  for (int64_t i = 0; i < B; ++i) b.labels[i] = int64_t((seed + uint64_t(i)) % 3);
  return b;
}

struct StepsRun {
  std::vector<double> losses;
  train::TrainableBigBird model;
};

// `steps` optimizer steps of 2 micro-batches each through `runner`; `after_step` runs after each.
StepsRun run_steps(train::StepRunner& runner, int steps, const std::function<void(int)>& after_step = {}) {
  StepsRun r{{}, bbtest::tiny_model(Head::SequenceClassification, 51)};
  train::OptimizerConfig oc;
  oc.weight_decay = 0.1;
  train::Optimizer opt(oc);
  for (int step = 0; step < steps; ++step) {
    train::OptimizerStep st;
    st.model = &r.model;
    st.optimizer = &opt;
    st.micro_batches = 2;
    st.batch = [step](int64_t micro) { return cls_batch(2, 40, uint64_t(10 * step + micro)); };
    st.options.hidden_dropout = 0.1f;
    st.options.attention_dropout = 0.0f;
    st.options.dropout_seed = 3;
    st.options.step = uint64_t(step);
    st.options.grad_scale = 0.5f;
    st.lr = 2e-3;  // kLr in expect_same_run
    st.max_grad_norm = 1.0;
    r.losses.push_back(runner.run(st).loss);
    if (after_step) after_step(step);
  }
  return r;
}

// Losses within `tolerance` (relative). Weights: Adam normalises every update to about lr, so where a
// gradient is far above rounding noise a relative gradient error e moves the weight by about lr * e
// per step: with the gradient tolerance of these tests (1e-3) all but 0.1 % of the elements (and at
// least all but one) must be within steps * lr * 1e-3. An element whose gradient is itself at noise level can take a different
// sign on the two sides (the GPU, -O2 and -O1 sanitizer CPU builds round differently): every element
// must still be within 2 * steps * lr. A wrong lr, weight decay or moment breaks the first rule
// everywhere. tolerance 0 means bit for bit.
void expect_same_run(const StepsRun& got, const StepsRun& want, double tolerance) {
  ASSERT_EQ(got.losses.size(), want.losses.size());
  for (size_t i = 0; i < want.losses.size(); ++i)
    EXPECT_NEAR(got.losses[i], want.losses[i], tolerance * std::max(1.0, want.losses[i])) << "step " << i;
  constexpr double kGradTolerance = 1e-3, kLr = 2e-3;
  const double steps = double(want.losses.size());
  const double close = tolerance == 0.0 ? 0.0 : steps * kLr * kGradTolerance;
  const double sign_flip = tolerance == 0.0 ? 0.0 : 2.0 * steps * kLr;
  for (const std::string& n : want.model.params().names()) {
    if (n.find("attention.self.key.bias") != std::string::npos) continue;  // noise-driven (tst_vulkan_trainer)
    const Tensor& g = got.model.params().get(n);
    const Tensor& w = want.model.params().get(n);
    double worst = 0.0;
    int64_t far = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const double e = std::fabs(double(g[i]) - double(w[i]));
      worst = std::isnan(e) ? INFINITY : std::max(worst, e);
      if (!(e <= close)) ++far;
    }
    EXPECT_LE(worst, sign_flip) << n;
    EXPECT_LE(double(far), std::max(1.0, 1e-3 * double(w.numel()))) << n << ": " << far << " of " << w.numel()
                                                     << " elements further than " << close << " (worst " << worst << ")";
  }
}

// Runs the CLI with extra environment assignments ("NAME=value ..."); stdout and stderr to `log`.
int run_cli_env(const std::string& env, const std::string& args, const std::string& log) {
  const std::string cmd = env + " '" + std::string(BIGBIRD_CLI) + "' " + args + " > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class VulkanTrainingBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    BB_REQUIRE_VULKAN();
    if (vk::validation_layer_available()) validate_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_VALIDATE", "1");
    cache_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_PIPELINE_CACHE_DIR", "none");
  }
  std::unique_ptr<ScopedEnv> validate_, cache_;
};

}  // namespace

TEST_F(VulkanTrainingBackend, StepsOnTheGpuMatchTheCpuRunner) {
  train::CpuStepRunner cpu_runner;
  const StepsRun cpu = run_steps(cpu_runner, 3);
  Notices notices;
  std::unique_ptr<train::StepRunner> runner = backend::make_train_step_runner({backend::Kind::Vulkan, ""});
  const StepsRun gpu = run_steps(*runner, 3);
  EXPECT_TRUE(notices.lines.empty()) << notices.lines.front();
  expect_same_run(gpu, cpu, 1e-5);
  for (double l : gpu.losses) std::printf("  loss %.7f\n", l);
}

TEST_F(VulkanTrainingBackend, ForcedTrainingKernelMismatchFallsBackWithTheCpuNumbers) {
  train::CpuStepRunner cpu_runner;
  const StepsRun cpu = run_steps(cpu_runner, 2);
  ScopedEnv fault("BIGBIRD_VK_FAULT", "mismatch:adamw");
  Notices notices;
  std::unique_ptr<train::StepRunner> runner = backend::make_train_step_runner({backend::Kind::Vulkan, ""});
  const StepsRun got = run_steps(*runner, 2);
  ASSERT_EQ(notices.lines.size(), 1u) << "expected exactly one notice";
  const std::string& line = notices.lines[0];
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find("vulkan backend unavailable ("), std::string::npos) << line;
  EXPECT_NE(line.find("training self-test mismatch: adamw"), std::string::npos) << line;
  EXPECT_NE(line.find("running on the CPU"), std::string::npos) << line;
  expect_same_run(got, cpu, 0.0);  // every step ran on the CPU: bit for bit
}

TEST_F(VulkanTrainingBackend, GradOnVulkanMatchesTheCpuAndSaysWhereItRan) {
  const std::string dir = bbtest::data_path("hf-golden/g_grad_mlm_512");
  io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
  train::TrainBatch b;
  b.input_ids = in.read_i64("input_ids");
  b.attention_mask = in.read_i64("attention_mask");
  b.labels = in.read_i64("labels");
  train::TrainableBigBird cpu = train::TrainableBigBird::load(dir, Head::MaskedLM);
  train::TrainableBigBird gpu = train::TrainableBigBird::load(dir, Head::MaskedLM);
  cpu.zero_grads();
  gpu.zero_grads();
  std::string used;
  const train::StepResult want = backend::forward_backward({backend::Kind::Cpu, ""}, cpu, b, {}, &used);
  EXPECT_EQ(used, "cpu");
  const train::StepResult got = backend::forward_backward({backend::Kind::Vulkan, ""}, gpu, b, {}, &used);
  EXPECT_EQ(used.rfind("vulkan (", 0), 0u) << used;
  EXPECT_NEAR(got.head.loss, want.head.loss, 1e-5);
  for (const std::string& n : cpu.grads().names()) {
    if (n.find("attention.self.key.bias") != std::string::npos || cpu.unused_parameters().count(n)) continue;
    EXPECT_LE(relative_error(gpu.grads().get(n), cpu.grads().get(n)), 1e-3) << n;
  }
}

TEST_F(VulkanTrainingBackend, GradAndFinetuneCliOnVulkan) {
  const std::string dir = bbtest::scratch_dir("vk-cli");
  const std::string golden = bbtest::data_path("hf-golden/g_grad_mlm_512");
  auto grad = [&](const std::string& env, const std::string& backend, const std::string& out) {
    return run_cli_env(env,
                       "grad --model " + golden + " --inputs " + golden + "/inputs.safetensors --out " + dir + "/" +
                           out + " --backend " + backend,
                       dir + "/" + out + ".log");
  };
  ASSERT_EQ(grad("", "cpu", "cpu.safetensors"), 0);
  ASSERT_EQ(grad("", "vulkan", "vk.safetensors"), 0) << bbtest::read_file_or_empty(dir + "/vk.safetensors.log");
  EXPECT_EQ(bbtest::read_file_or_empty(dir + "/vk.safetensors.log").find("running on the CPU"), std::string::npos)
      << bbtest::read_file_or_empty(dir + "/vk.safetensors.log");
  {
    io::SafetensorsFile a = io::SafetensorsFile::open(dir + "/cpu.safetensors"),
                        v = io::SafetensorsFile::open(dir + "/vk.safetensors");
    EXPECT_NEAR(v.read_f32("loss")[0], a.read_f32("loss")[0], 1e-5);
    for (const io::TensorInfo& t : a.tensors()) {
      if (t.name.find("attention.self.key.bias") != std::string::npos || t.name == "loss") continue;
      EXPECT_LE(relative_error(v.read_f32(t.name), a.read_f32(t.name)), 1e-3) << t.name;
    }
  }
  // A forced fault: one line, the CPU's file byte for byte.
  ASSERT_EQ(grad("BIGBIRD_VK_FAULT=mismatch:cross_entropy", "vulkan", "fault.safetensors"), 0);
  const std::string log = bbtest::read_file_or_empty(dir + "/fault.safetensors.log");
  EXPECT_NE(log.find("training self-test mismatch: cross_entropy"), std::string::npos) << log;
  EXPECT_EQ(bbtest::read_file_or_empty(dir + "/fault.safetensors"),
            bbtest::read_file_or_empty(dir + "/cpu.safetensors"));

  // finetune: a few steps on the GPU (the config's dropout, original_full with probability dropout)
  // give the CPU's training losses.
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 7);
  bbtest::write_text(dir + "/train.csv", bbtest::synthetic_classification_csv(48, 1));
  bbtest::write_text(dir + "/eval.csv", bbtest::synthetic_classification_csv(16, 2));
  auto finetune = [&](const std::string& backend) {
    const std::string out = dir + "/out-" + backend;
    const std::string args = "finetune --task cls --model " + dir + "/base --train " + dir + "/train.csv --eval " +
                             dir + "/eval.csv --out " + out + " --tokenizer " + std::string(BIGBIRD_RESOURCE_DIR) +
                             "/vocab/gpt2.model --steps 3 --batch-size 4 --lr 3e-3 --max-length 64 " +
                             "--threads 2 --quiet --backend " + backend;
    EXPECT_EQ(run_cli_env("", args, out + ".log"), 0) << bbtest::read_file_or_empty(out + ".log");
    std::vector<double> losses;
    for (const nlohmann::json& r : bbtest::read_jsonl(out + "/metrics.jsonl"))
      if (r["event"] == "train") losses.push_back(r["loss"].get<double>());
    return losses;
  };
  const std::vector<double> cpu = finetune("cpu"), vk = finetune("vulkan");
  const std::string vk_log = bbtest::read_file_or_empty(dir + "/out-vulkan.log");
  EXPECT_EQ(vk_log.find("running on the CPU"), std::string::npos) << vk_log;
  EXPECT_NE(vk_log.find("training steps run on vulkan ("), std::string::npos) << vk_log;
  ASSERT_EQ(cpu.size(), 3u);
  ASSERT_EQ(vk.size(), cpu.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(vk[i], cpu[i], 1e-4 * std::max(1.0, cpu[i])) << "step " << i;
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

// Last: the lost device stays lost for the rest of this process.
TEST_F(VulkanTrainingBackend, DeviceLostMidRunContinuesOnTheCpuFromTheLastStep) {
  train::CpuStepRunner cpu_runner;
  const StepsRun cpu = run_steps(cpu_runner, 4);
  Notices notices;
  std::unique_ptr<train::StepRunner> runner = backend::make_train_step_runner({backend::Kind::Vulkan, ""});
  std::shared_ptr<vk::Device> lost;
  const StepsRun got = run_steps(*runner, 4, [&](int step) {
    if (step != 1) return;
    std::string reason;
    lost = vk::acquire_device(vk::DeviceOptions::from_environment(), &reason);  // the runner's device
    ASSERT_TRUE(lost) << reason;
    lost->mark_lost();
  });
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_NE(notices.lines[0].find("lost"), std::string::npos) << notices.lines[0];
  expect_same_run(got, cpu, 1e-5);  // 2 steps on the GPU, then the CPU from the synced host state
}
