// A training step on Vulkan (engine/backend/vulkan/vulkan_trainer) against the CPU training engine:
// loss and every parameter gradient for the classification, MLM and QA heads under block_sparse and
// original_full attention, with padding and dropout; HF's golden gradients (g_grad_mlm_512); and
// N optimizer steps (AdamW / AdamWeightDecay, clipping, a schedule's lr per step) against
// train::Optimizer. Tiny shapes: lavapipe in CI, validation layers on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "engine/backend/vulkan/vulkan_trainer.h"
#include "engine/io/safetensors.h"
#include "engine/train/optimizer.h"
#include "engine/train/train_step.h"
#include "tests/engine/backend/vulkan_test_util.h"
#include "tests/engine/support/golden.h"
#include "tests/engine/train/train_test_util.h"

using namespace bb;

namespace {

// The CPU path's own tolerance against HF's goldens (tst_model_gradients.cpp): max |got - want|
// over the tensor, relative to the tensor's largest magnitude (+ atol / 1e-3 for zero-by-math tensors).
constexpr double kGradTolerance = 1e-3;

double relative_error(const Tensor& got, const Tensor& want, double atol) {
  double scale = 0.0, worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    const double e = std::fabs(double(got[i]) - double(want[i]));
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst / (scale + atol / 1e-3);
}

std::shared_ptr<vk::Device> shared_test_device() {
  // The trainer holds a shared_ptr; the test environment owns the device (no deleter).
  return std::shared_ptr<vk::Device>(bbtest::test_device(), [](vk::Device*) {});
}

train::TrainBatch tiny_batch(Head head, int64_t B, int64_t L, int padded_tail, uint64_t seed) {
  train::TrainBatch b;
  b.input_ids = I64Tensor({B, L});
  b.attention_mask = I64Tensor({B, L});
  for (int64_t i = 0; i < B * L; ++i) {
    b.input_ids[i] = 4 + int64_t(bbtest::mix64(seed + uint64_t(i) * 3) % 36);
    b.attention_mask[i] = 1;
  }
  for (int64_t t = L - padded_tail; t < L; ++t) {  // batch row 0 ends in padding
    b.input_ids[t] = 0;
    b.attention_mask[t] = 0;
  }
  if (head == Head::QuestionAnswering) {
    b.start_positions = I64Tensor({B});
    b.end_positions = I64Tensor({B});
    for (int64_t r = 0; r < B; ++r) {
      b.input_ids[r * L + 4] = 3;                     // [SEP]: tokens 1..3 are the question (masked out of the logits)
      b.start_positions[r] = r == 2 ? L + 5 : 6 + r;  // row 2: clamped to L, the ignore index
      b.end_positions[r] = 8 + 2 * r;
    }
  } else if (head == Head::SequenceClassification) {
    b.labels = I64Tensor({B});
    for (int64_t i = 0; i < B; ++i) b.labels[i] = int64_t((seed + uint64_t(i)) % 3);
  } else {
    b.labels = I64Tensor({B, L});
    for (int64_t i = 0; i < B * L; ++i)
      b.labels[i] = bbtest::mix64(seed * 5 + uint64_t(i)) % 4 == 0 ? int64_t(bbtest::mix64(uint64_t(i)) % 40) : -100;
  }
  return b;
}

struct GradCase {
  const char* name;
  Head head;
  int64_t B, L;
  int padded_tail;
  float hidden_dropout, head_dropout, attention_dropout;
  attn::AttentionType want;
};

class VulkanTrainer : public ::testing::TestWithParam<GradCase> {
 protected:
  void SetUp() override { BB_REQUIRE_VULKAN(); }
  void TearDown() override {
    if (vk::Device* d = bbtest::test_device()) {
      BB_EXPECT_NO_VALIDATION_MESSAGES(*d);
    }
  }
};

}  // namespace

// Loss and every gradient of one step, Vulkan vs the CPU engine, accumulated onto non-zero grads.
// QA: the start / end logits (question tokens masked) as well.
TEST_P(VulkanTrainer, GradientsMatchTheCpuBackward) {
  const GradCase& gc = GetParam();
  train::TrainableBigBird cpu = bbtest::tiny_model(gc.head, 31);
  train::TrainableBigBird gpu = bbtest::tiny_model(gc.head, 31);
  const train::TrainBatch batch = tiny_batch(gc.head, gc.B, gc.L, gc.padded_tail, 7);
  train::StepOptions o;
  o.hidden_dropout = gc.hidden_dropout;
  o.head_dropout = gc.head_dropout;
  o.attention_dropout = gc.attention_dropout;
  o.dropout_seed = 99;
  o.grad_scale = 0.5f;
  cpu.zero_grads();
  gpu.zero_grads();
  // Gradients accumulate: both start from the same non-zero state (a first micro-batch).
  train::forward_backward(cpu, batch, o);
  train::forward_backward(gpu, batch, o);

  vk::VulkanTrainer t(shared_test_device(), gpu);
  o.micro_batch = 1;
  const train::StepResult want = train::forward_backward(cpu, batch, o);
  const train::StepResult got = t.forward_backward(gpu, batch, o);
  EXPECT_EQ(got.decision.type, gc.want);
  EXPECT_EQ(want.decision.type, gc.want);
  EXPECT_NEAR(got.head.loss, want.head.loss, 1e-5 * std::max(1.0, want.head.loss));
  EXPECT_EQ(got.head.count, want.head.count);
  EXPECT_EQ(got.head.correct, want.head.correct);
  EXPECT_EQ(got.tokens, want.tokens);
  if (gc.head == Head::QuestionAnswering) {
    ASSERT_EQ(got.head.start_logits.shape(), want.head.start_logits.shape());
    EXPECT_LE(relative_error(got.head.start_logits, want.head.start_logits, 0.0), 1e-5);
    EXPECT_LE(relative_error(got.head.end_logits, want.head.end_logits, 0.0), 1e-5);
  }
  t.download_grads(gpu.grads());
  // Some gradients are zero by mathematics and hold only fp32 rounding noise (the key bias shifts
  // every score of a softmax row equally): as the golden tests, an absolute floor at the rounding
  // level of the whole gradient (1e-6 of its largest entry) keeps noise from counting as error.
  double largest = 0;
  for (const std::string& n : cpu.grads().names()) {
    const Tensor& t = cpu.grads().get(n);
    for (int64_t i = 0; i < t.numel(); ++i) largest = std::max(largest, std::fabs(double(t[i])));
  }
  const double atol = 1e-6 * largest;
  double worst = 0;
  std::string worst_name;
  for (const std::string& n : cpu.grads().names()) {
    const double e = relative_error(gpu.grads().get(n), cpu.grads().get(n), atol);
    if (e > worst) {
      worst = e;
      worst_name = n;
    }
    EXPECT_LE(e, kGradTolerance) << n;
  }
  std::printf("  %s: loss %.6f (cpu %.6f), worst relative gradient error %.3g (%s)\n", gc.name, got.head.loss,
              want.head.loss, worst, worst_name.c_str());
}

INSTANTIATE_TEST_SUITE_P(Cases, VulkanTrainer,
                         ::testing::Values(GradCase{"cls_block_sparse", Head::SequenceClassification, 2, 40, 5, 0.0f,
                                                    0.0f, 0.0f, attn::AttentionType::BlockSparse},
                                           GradCase{"cls_block_sparse_dropout", Head::SequenceClassification, 2, 44, 3,
                                                    0.1f, 0.2f, 0.1f, attn::AttentionType::BlockSparse},
                                           GradCase{"cls_original_full", Head::SequenceClassification, 3, 21, 4, 0.0f,
                                                    0.0f, 0.0f, attn::AttentionType::OriginalFull},
                                           GradCase{"cls_original_full_dropout", Head::SequenceClassification, 3, 21, 4,
                                                    0.1f, 0.1f, 0.2f, attn::AttentionType::OriginalFull},
                                           GradCase{"mlm_block_sparse", Head::MaskedLM, 2, 40, 6, 0.1f, 0.0f, 0.0f,
                                                    attn::AttentionType::BlockSparse},
                                           GradCase{"mlm_original_full", Head::MaskedLM, 1, 17, 0, 0.0f, 0.0f, 0.1f,
                                                    attn::AttentionType::OriginalFull},
                                           GradCase{"qa_block_sparse_dropout", Head::QuestionAnswering, 3, 40, 5, 0.1f,
                                                    0.1f, 0.0f, attn::AttentionType::BlockSparse},
                                           GradCase{"qa_original_full", Head::QuestionAnswering, 2, 23, 3, 0.0f, 0.0f,
                                                    0.0f, attn::AttentionType::OriginalFull}),
                         [](const ::testing::TestParamInfo<GradCase>& i) { return std::string(i.param.name); });

// HF's golden gradients of every parameter (BigBirdForMaskedLM, block_sparse, 512 tokens), with the
// tolerance the CPU path meets (tst_model_gradients.cpp).
TEST(VulkanTrainerGolden, MatchesHFGradientsForMaskedLM) {
  BB_REQUIRE_VULKAN();
  const std::string dir = bbtest::data_path("hf-golden/g_grad_mlm_512");
  train::TrainableBigBird m = train::TrainableBigBird::load(dir, Head::MaskedLM);
  m.zero_grads();
  io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
  train::TrainBatch b;
  b.input_ids = in.read_i64("input_ids");
  b.attention_mask = in.read_i64("attention_mask");
  b.labels = in.read_i64("labels");
  vk::VulkanTrainer t(shared_test_device(), m);
  const train::StepResult r = t.forward_backward(m, b, train::StepOptions());
  EXPECT_EQ(r.decision.type, attn::AttentionType::BlockSparse);
  t.download_grads(m.grads());
  io::SafetensorsFile want = io::SafetensorsFile::open(dir + "/grads.safetensors");
  io::SafetensorsFile out = io::SafetensorsFile::open(dir + "/outputs.safetensors");
  EXPECT_NEAR(r.head.loss, out.read_f32("loss")[0], 1e-4);
  const nlohmann::json cj = bbtest::read_json(dir + "/case.json");
  const double atol = cj["tolerance"]["gradients"]["fp32_vs_fp64_max_abs_over_all_grads"].get<double>();
  double worst = 0;
  for (const io::TensorInfo& info : want.tensors()) {
    const std::string name = info.name.substr(5);  // "grad."
    ASSERT_TRUE(m.grads().has(name)) << name;
    const double e = relative_error(m.grads().get(name), want.read_f32(info.name), atol);
    worst = std::max(worst, e);
    EXPECT_LE(e, kGradTolerance) << info.name;
  }
  std::printf("  worst relative gradient error vs HF over %zu tensors: %.3g\n", want.tensors().size(), worst);
  BB_EXPECT_NO_VALIDATION_MESSAGES(*bbtest::test_device());
}

// N optimizer steps on the device (clip_grad_norm + AdamW / AdamWeightDecay with the lr of a schedule)
// give the CPU trainer's losses and weights.
TEST(VulkanTrainerSteps, NStepsMatchTheCpuOptimizer) {
  BB_REQUIRE_VULKAN();
  for (train::OptimizerKind kind : {train::OptimizerKind::AdamW, train::OptimizerKind::AdamWeightDecay}) {
    train::TrainableBigBird cpu = bbtest::tiny_model(Head::SequenceClassification, 41);
    train::TrainableBigBird gpu = bbtest::tiny_model(Head::SequenceClassification, 41);
    train::OptimizerConfig oc;
    oc.kind = kind;
    oc.weight_decay = 0.1;
    train::Optimizer opt(oc);
    vk::VulkanTrainer t(shared_test_device(), gpu);
    const double max_norm = 0.5;  // small enough that every step clips
    double lr_sum = 0;
    for (int step = 0; step < 4; ++step) {
      const train::TrainBatch batch = tiny_batch(Head::SequenceClassification, 2, 40, step % 2 ? 3 : 0, 100 + step);
      train::StepOptions o;
      o.hidden_dropout = 0.1f;
      o.dropout_seed = 5;
      o.step = uint64_t(step);
      const double lr = 1e-3 * (step + 1) / 4.0;  // warm-up
      lr_sum += lr;
      cpu.zero_grads();
      t.zero_grads();
      const train::StepResult want = train::forward_backward(cpu, batch, o);
      const train::StepResult got = t.forward_backward(gpu, batch, o);
      EXPECT_NEAR(got.head.loss, want.head.loss, 1e-5 * std::max(1.0, want.head.loss)) << "step " << step;
      const double want_norm = train::clip_grad_norm(cpu.grads(), max_norm, cpu.unused_parameters());
      opt.step(cpu.params(), cpu.grads(), lr, cpu.unused_parameters());
      const double got_norm = t.clip_and_step(oc, lr, max_norm, gpu.unused_parameters());
      EXPECT_NEAR(got_norm, want_norm, 1e-5 * want_norm) << "step " << step;
      EXPECT_GT(want_norm, max_norm);
    }
    EXPECT_EQ(t.optimizer_steps(), opt.steps());
    t.download_params(gpu.params());
    double worst = 0;
    for (const std::string& n : cpu.params().names()) {
      if (n.find("attention.self.key.bias") != std::string::npos) {
        // Its gradient is rounding noise (zero by mathematics), which Adam normalises into steps of
        // up to ~lr in either direction: only that bound holds on any two machines.
        const Tensor &a = gpu.params().get(n), &b = cpu.params().get(n);
        for (int64_t i = 0; i < a.numel(); ++i) EXPECT_LE(std::fabs(a[i] - b[i]), 2 * lr_sum) << n;
        continue;
      }
      const double e = relative_error(gpu.params().get(n), cpu.params().get(n), 1e-9);
      worst = std::max(worst, e);
      EXPECT_LE(e, 1e-5) << n;
    }
    std::map<std::string, Tensor> m, v;
    t.download_optimizer_state(m, v);
    EXPECT_EQ(m.size(), opt.m().size());
    for (const auto& [n, want] : opt.v()) EXPECT_LE(relative_error(v.at(n), want, 1e-12), 1e-4) << n;
    std::printf("  %s: 4 clipped steps, worst relative weight error %.3g\n", train::to_string(kind).c_str(), worst);
  }
  BB_EXPECT_NO_VALIDATION_MESSAGES(*bbtest::test_device());
}

TEST(VulkanTrainerLimits, UnsupportedWorkIsAVulkanErrorAndBadLabelsABbError) {
  BB_REQUIRE_VULKAN();
  train::TrainableBigBird m = bbtest::tiny_model(Head::SequenceClassification, 3);
  vk::VulkanTrainer t(shared_test_device(), m);
  train::TrainBatch b = tiny_batch(Head::SequenceClassification, 2, 20, 0, 1);
  train::StepOptions o;
  o.attention_type = attn::AttentionType::SimulatedSparse;
  EXPECT_THROW(t.forward_backward(m, tiny_batch(Head::SequenceClassification, 2, 40, 0, 1), o), vk::VulkanError);
  o.attention_type.reset();
  b.labels[1] = 7;  // 3 labels
  try {
    t.forward_backward(m, b, o);
    ADD_FAILURE() << "a bad label was accepted";
  } catch (const vk::VulkanError& e) {
    ADD_FAILURE() << "a bad label is the input's fault, not the device's: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 7"), std::string::npos) << e.what();
  }
  BB_EXPECT_NO_VALIDATION_MESSAGES(*bbtest::test_device());
}
