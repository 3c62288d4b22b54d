// The training kernels (engine/backend/vulkan/vk_train_ops) against the engine's CPU backward ops,
// loss and optimizer on several shapes, odd sizes included, with the validation layers on.
#include <gtest/gtest.h>

#include "engine/backend/vulkan/vk_stream.h"
#include "engine/backend/vulkan/vk_train_checks.h"
#include "tests/engine/backend/vulkan_test_util.h"

using namespace bb;
namespace checks = bb::vk::checks;

namespace {

void expect_pass(const checks::Check& c) {
  std::printf("  %s\n", c.line().c_str());
  EXPECT_TRUE(c.passed) << c.line();
}

class VulkanTrainKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    BB_REQUIRE_VULKAN();
    device_ = bbtest::test_device();
    stream_ = std::make_unique<vk::Stream>(*device_);
    baseline_ = device_->validation_errors() + device_->validation_warnings();
  }
  void TearDown() override {
    stream_.reset();
    if (device_) {
      EXPECT_EQ(device_->validation_errors() + device_->validation_warnings(), baseline_)
          << "validation: " << device_->last_validation_message();
    }
  }
  vk::Stream& s() { return *stream_; }
  vk::Device* device_ = nullptr;
  std::unique_ptr<vk::Stream> stream_;
  int baseline_ = 0;
};

}  // namespace

TEST_F(VulkanTrainKernels, LayerNormBackward) {
  struct S {
    uint32_t rows, cols;
  };
  for (S sh : {S{1, 1}, S{3, 7}, S{5, 64}, S{33, 129}, S{2, 1000}})
    for (bool acc : {false, true}) expect_pass(checks::layer_norm_backward(s(), sh.rows, sh.cols, acc));
}

TEST_F(VulkanTrainKernels, ActivationBackward) {
  for (Activation a : {Activation::GeluNew, Activation::GeluFast, Activation::Gelu, Activation::Relu, Activation::Tanh})
    for (uint32_t n : {1u, 7u, 1000u, 1100000u})
      expect_pass(checks::activation_backward(s(), a, n));  // > one grid pass
}

TEST_F(VulkanTrainKernels, SoftmaxBackward) {
  struct S {
    uint32_t rows, n;
  };
  for (S sh : {S{1, 1}, S{3, 5}, S{7, 300}, S{2, 4097}}) expect_pass(checks::softmax_backward(s(), sh.rows, sh.n));
}

TEST_F(VulkanTrainKernels, CrossEntropy) {
  struct S {
    uint32_t rows, classes;
  };
  for (S sh : {S{1, 1}, S{2, 2}, S{3, 5}, S{7, 300}, S{4, 5003}})
    expect_pass(checks::cross_entropy(s(), sh.rows, sh.classes));
}

TEST_F(VulkanTrainKernels, LinearBackward) {
  struct S {
    uint32_t M, K, N;
  };
  for (S sh : {S{1, 1, 1}, S{3, 5, 7}, S{17, 33, 9}, S{65, 63, 67}})
    for (bool acc : {false, true}) expect_pass(checks::linear_backward(s(), sh.M, sh.K, sh.N, acc));
}

TEST_F(VulkanTrainKernels, AdamWAndAdamWeightDecay) {
  for (uint32_t n : {1u, 7u, 1000u, 1100000u}) expect_pass(checks::adamw(s(), n, false, 3, 1.0));
  expect_pass(checks::adamw(s(), 513, false, 4, 0.25));
  expect_pass(checks::adamw(s(), 513, true, 3, 1.0));
  expect_pass(checks::adamw(s(), 77, true, 2, 0.5));
}

TEST_F(VulkanTrainKernels, GradientNormPartialSums) {
  for (uint32_t n : {1u, 7u, 1000u, 2000000u}) expect_pass(checks::sum_squares(s(), n));
}

TEST_F(VulkanTrainKernels, DropoutMask) {
  for (uint32_t n : {1u, 100u, 70000u}) expect_pass(checks::scale_mask(s(), n, 0.1f));
  expect_pass(checks::scale_mask(s(), 1000, 0.5f));
}

TEST_F(VulkanTrainKernels, ScatterAddRowsIsTheEmbeddingBackward) {
  expect_pass(checks::scatter_add_rows(s(), 1, 1, 1, -1));
  expect_pass(checks::scatter_add_rows(s(), 7, 5, 3, -1));
  expect_pass(checks::scatter_add_rows(s(), 130, 33, 40, 0));  // padding id skipped
  expect_pass(checks::scatter_add_rows(s(), 1000, 70, 5, 2));  // long per-id lists
}

TEST_F(VulkanTrainKernels, DenseAttentionBackward) {
  struct S {
    int64_t L;
    int heads, d, batch, pad;
  };
  for (S sh : {S{1, 1, 4, 1, 0}, S{19, 2, 8, 2, 4}, S{64, 2, 16, 1, 7}, S{70, 3, 5, 2, 9}}) {
    checks::DenseShape de;
    de.Lq = de.Lk = sh.L;
    de.heads = sh.heads;
    de.head_dim = sh.d;
    de.batch = sh.batch;
    de.padded_tail = sh.pad;
    expect_pass(checks::dense_attention_backward(s(), de));
    if (sh.L > 1) expect_pass(checks::dense_attention_dropout(s(), de, 0.1f));
  }
  checks::DenseShape de;
  de.Lq = de.Lk = 33;
  de.padded_tail = 5;
  expect_pass(checks::dense_attention_dropout(s(), de, 0.5f));
}

TEST_F(VulkanTrainKernels, SuitePassesAndACorruptedKernelFails) {
  for (const checks::Check& c : checks::training_suite(s())) expect_pass(c);
  for (const char* k : {"layer_norm_backward", "cross_entropy", "adamw", "attention_dense_backward"}) {
    const std::vector<checks::Check> r = checks::training_suite(s(), k);
    ASSERT_FALSE(r.empty());
    EXPECT_FALSE(r.back().passed) << k;
    EXPECT_EQ(r.back().kernel, k);
  }
}
