// Every Vulkan kernel against the engine's CPU op on several shapes, odd sizes included
// (test-backend-ops style, per-op tolerances in vk_kernel_checks.cpp), on whatever Vulkan device
// the machine has (lavapipe in CI), with the validation layers on. Shapes stay small: lavapipe
// runs ~1-2 GFLOP/s.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/backend/vulkan/vk_kernel_checks.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "tests/engine/backend/vulkan_test_util.h"

using namespace bb;
namespace checks = bb::vk::checks;

namespace {

void expect_pass(const checks::Check& c) {
  std::printf("  %s\n", c.line().c_str());
  EXPECT_TRUE(c.passed) << c.line();
}

class VulkanKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    BB_REQUIRE_VULKAN();
    device_ = bbtest::test_device();
    stream_ = std::make_unique<vk::Stream>(*device_);
    baseline_ = messages();
  }
  void TearDown() override {
    stream_.reset();
    if (device_) {
      EXPECT_EQ(messages(), baseline_) << "validation: " << device_->last_validation_message();
    }
  }
  int messages() const { return device_->validation_errors() + device_->validation_warnings(); }
  vk::Stream& s() { return *stream_; }
  vk::Device* device_ = nullptr;
  std::unique_ptr<vk::Stream> stream_;
  int baseline_ = 0;  // validation messages before the test
};

}  // namespace

TEST_F(VulkanKernels, Gemm) {
  struct S {
    uint32_t M, N, K;
  };
  for (S sh : {S{1, 1, 1}, S{3, 5, 7}, S{17, 33, 9}, S{64, 64, 64}, S{65, 63, 67}, S{130, 31, 129}, S{1, 257, 100}})
    for (int t = 0; t < 4; ++t) expect_pass(checks::gemm(s(), sh.M, sh.N, sh.K, t & 1, t & 2, t == 1, false));
  expect_pass(checks::gemm(s(), 23, 19, 31, false, true, true, false, 3));
  expect_pass(checks::gemm(s(), 23, 19, 31, true, true, false, false, 2));
}

TEST_F(VulkanKernels, GemmFp16Weights) {
  if (!device_->fp16_storage_enabled()) GTEST_SKIP() << device_->info().name << " has no storageBuffer16BitAccess";
  for (uint32_t n : {1u, 7u, 64u, 129u}) expect_pass(checks::gemm(s(), 33, n, 45, false, true, true, true));
  expect_pass(checks::gemm(s(), 10, 12, 14, false, false, false, true, 2));
}

TEST_F(VulkanKernels, GemmSmallMRowsPicksTheSkinnyKernel) {
  checks::GemmShape g;
  g.trans_b = true;
  g.K = 64;
  for (uint32_t m : {1u, 3u, 16u}) {
    g.M = m;
    EXPECT_EQ(checks::gemm(s(), g).kernel, "gemm_small_m_vec4") << "M = " << m;
  }
  g.M = 17;
  EXPECT_EQ(checks::gemm(s(), g).kernel, "gemm");
  g.M = 3;
  g.K = 63;  // not a multiple of 4: scalar weight loads
  EXPECT_EQ(checks::gemm(s(), g).kernel, "gemm_small_m");
  g.path = vk::ops::GemmPath::tiled;
  EXPECT_EQ(checks::gemm(s(), g).kernel, "gemm");
}

TEST_F(VulkanKernels, GemmSmallM) {
  // Odd N, K below / across / beyond the 256-column shared chunk, K % 4 != 0, both transposes.
  for (uint32_t m : {1u, 3u, 16u})
    for (uint32_t n : {1u, 7u, 257u})
      for (uint32_t k : {1u, 6u, 64u, 300u, 517u, 1024u})
        for (int t = 0; t < 4; ++t) {
          checks::GemmShape g;
          g.M = m;
          g.N = n;
          g.K = k;
          g.trans_a = t & 1;
          g.trans_b = t & 2;
          g.bias = (m + n + k + t) % 2;
          g.path = vk::ops::GemmPath::small_m;
          expect_pass(checks::gemm(s(), g));
        }
}

TEST_F(VulkanKernels, GemmSmallMStridesBatchesAndBeta) {
  checks::GemmShape g;
  g.M = 5;
  g.N = 33;
  g.K = 40;
  g.trans_b = true;
  g.bias = true;
  g.ldc_pad = 7;  // a slab row like the decoder's K/V cache
  g.c_off = 11;
  expect_pass(checks::gemm(s(), g));
  g.alpha = 0.5f;
  g.beta = -1.5f;
  expect_pass(checks::gemm(s(), g));
  g.batch = 3;
  expect_pass(checks::gemm(s(), g));
  g.trans_a = true;
  g.trans_b = false;
  expect_pass(checks::gemm(s(), g));
}

TEST_F(VulkanKernels, GemmSmallMLongK) {
  // Long K: up to 32 threads share a column (on any device) and add their partial sums.
  for (uint32_t k : {8192u, 8191u}) {
    checks::GemmShape g;
    g.M = 3;
    g.N = 33;
    g.K = k;
    g.trans_b = true;
    g.bias = true;
    expect_pass(checks::gemm(s(), g));
  }
}

TEST_F(VulkanKernels, GemmSmallMManyColumnsUseTwoGridDimensions) {
  // K = 1: one thread per column, 128 columns per workgroup; more than 65535 workgroups need gy > 1
  // (where maxComputeWorkGroupCount[0] is 65535, as on lavapipe).
  checks::GemmShape g;
  g.M = 1;
  g.N = 128 * 65535 + 7;
  g.K = 1;
  g.trans_b = true;
  g.bias = true;
  expect_pass(checks::gemm(s(), g));
}

TEST_F(VulkanKernels, GemmSmallMFp16Weights) {
  if (!device_->fp16_storage_enabled()) GTEST_SKIP() << device_->info().name << " has no storageBuffer16BitAccess";
  for (uint32_t k : {45u, 64u, 300u})
    for (uint32_t m : {1u, 3u, 16u}) {
      checks::GemmShape g;
      g.M = m;
      g.N = 129;
      g.K = k;
      g.trans_b = true;
      g.bias = true;
      g.fp16 = true;
      const checks::Check c = checks::gemm(s(), g);
      EXPECT_EQ(c.kernel, k % 4 ? "gemm_small_m_f16" : "gemm_small_m_f16_vec4");
      expect_pass(c);
    }
  expect_pass(checks::gemm(s(), 10, 12, 14, false, false, false, true, 2));
}

TEST_F(VulkanKernels, GemmSplitIntoSeveralDispatchesStaysExact) {
  // A tiny submission budget forces row-split dispatches and many submissions.
  vk::DeviceOptions o = bbtest::test_device_options();
  o.max_submit_seconds = 1e-9;
  vk::Device small(o);
  vk::Stream st(small);
  expect_pass(checks::gemm(st, 200, 70, 90, false, true, true, false));
  EXPECT_GT(st.submissions(), 1);
  const int before = st.submissions();
  expect_pass(checks::gemm(st, 3, 4001, 300, false, true, true, false));  // small M: split over columns
  EXPECT_GT(st.submissions() - before, 1);
  checks::SparseShape sp;
  sp.len = 96;
  sp.block = 8;
  expect_pass(checks::block_sparse_attention(st, sp));
  checks::DenseShape de;
  de.Lq = 150;
  de.Lk = 40;
  expect_pass(checks::dense_attention(st, de));
  BB_EXPECT_NO_VALIDATION_MESSAGES(small);
}

TEST_F(VulkanKernels, StagingTransfersOfDiscreteGpus) {
  // Discrete GPUs have no host-mapped device memory: uploads and downloads go through staging
  // buffers and copy commands. Force that path on any device.
  vk::DeviceOptions o = bbtest::test_device_options();
  o.map_device_memory = false;
  vk::Device staged(o);
  vk::Stream st(staged);
  expect_pass(checks::gemm(st, 37, 41, 29, false, true, true, false));
  expect_pass(checks::embedding(st, 20, 8, 30, 7));
  checks::SparseShape sp;
  sp.batch = 2;
  sp.padded_tail = 3;
  expect_pass(checks::block_sparse_attention(st, sp));
  BB_EXPECT_NO_VALIDATION_MESSAGES(staged);
}

TEST_F(VulkanKernels, LayerNorm) {
  struct S {
    uint32_t rows, cols;
  };
  for (S sh : {S{1, 1}, S{3, 7}, S{5, 64}, S{2, 1000}, S{33, 129}, S{1, 768}})
    expect_pass(checks::layer_norm(s(), sh.rows, sh.cols));
}

TEST_F(VulkanKernels, Activations) {
  for (Activation a : {Activation::GeluNew, Activation::GeluFast, Activation::Gelu, Activation::Relu, Activation::Tanh})
    for (uint32_t n : {1u, 7u, 1000u, 1100000u}) expect_pass(checks::activation(s(), a, n));  // > one grid pass
}

TEST_F(VulkanKernels, Softmax) {
  struct S {
    uint32_t rows, n;
  };
  for (S sh : {S{1, 1}, S{3, 5}, S{7, 300}, S{2, 4097}}) expect_pass(checks::softmax(s(), sh.rows, sh.n));
}

TEST_F(VulkanKernels, EmbeddingGatherAcrossChunks) {
  expect_pass(checks::embedding(s(), 5, 3, 7, 7));
  expect_pass(checks::embedding(s(), 100, 33, 50, 13));
  expect_pass(checks::embedding(s(), 64, 16, 128, 1));
  // The Pegasus decoder's beam reorder: 5 cache rows of capacity x d_model gathered from 5 rows.
  expect_pass(checks::embedding(s(), 5, 41 * 64, 5, 5));
}

TEST_F(VulkanKernels, BiasResidual) {
  expect_pass(checks::bias_residual(s(), 1, 1));
  expect_pass(checks::bias_residual(s(), 17, 33));
}

TEST_F(VulkanKernels, BlockSparseAttention) {
  auto shape = [](int64_t len, int block, int r, int heads, int d, int batch, int pad, attn::RandomBlocks mode) {
    checks::SparseShape sh;
    sh.len = len;
    sh.block = block;
    sh.random = r;
    sh.heads = heads;
    sh.head_dim = d;
    sh.batch = batch;
    sh.padded_tail = pad;
    sh.mode = mode;
    return sh;
  };
  using attn::RandomBlocks;
  expect_pass(checks::block_sparse_attention(s(), shape(64, 8, 1, 2, 8, 2, 5, RandomBlocks::HFTrain)));
  expect_pass(
      checks::block_sparse_attention(s(), shape(256, 16, 3, 4, 16, 1, 0, RandomBlocks::HFTrain)));        // golden size
  expect_pass(checks::block_sparse_attention(s(), shape(75, 5, 2, 3, 12, 2, 7, RandomBlocks::HFTrain)));  // odd sizes
  expect_pass(
      checks::block_sparse_attention(s(), shape(128, 16, 2, 2, 16, 1, 20, RandomBlocks::HFEval)));  // duplicates
  expect_pass(checks::block_sparse_attention(s(), shape(160, 16, 2, 2, 8, 1, 3, RandomBlocks::TF)));
  expect_pass(
      checks::block_sparse_attention(s(), shape(512, 64, 1, 1, 64, 1, 40, RandomBlocks::HFTrain)));  // base tiles
  expect_pass(
      checks::block_sparse_attention(s(), shape(600, 75, 1, 1, 24, 1, 0, RandomBlocks::HFTrain)));  // block > 64
}

TEST_F(VulkanKernels, SplitKeyListsPlan) {
  // bigbird-roberta's pattern at 2048 tokens: the global query blocks list all 32 key blocks,
  // every other query block about 8; only the global ones are split, into median-sized parts
  // that cover their list exactly once, in order.
  attn::TableParams tp;
  tp.seq_len = 2048;
  tp.block = 64;
  tp.num_random = 3;
  tp.heads = 2;
  tp.max_position_embeddings = 4096;
  const attn::BlockPattern pattern(2048, 64, 3, 2, attn::random_block_table(tp));
  const vk::ops::SparseLists l = vk::ops::upload_pattern(s(), pattern, false);
  const uint32_t nb = l.nb;
  ASSERT_EQ(nb, 32u);
  EXPECT_EQ(l.split_blocks, 8u);
  std::vector<uint32_t> parts(size_t(l.heads) * nb, 0), covered(size_t(l.heads) * nb, 0);
  for (uint32_t i = 0; i < l.item_count; ++i) {
    const uint32_t list = l.host_items[4 * i], e0 = l.host_items[4 * i + 1], e1 = l.host_items[4 * i + 2];
    ASSERT_LT(e0, e1);
    EXPECT_EQ(e0, l.host_offsets[list] + covered[list]) << "parts must be contiguous, in list order";
    covered[list] += e1 - e0;
    ++parts[list];
    EXPECT_LE(e1 - e0, 2 * l.split_blocks);
  }
  for (uint32_t list = 0; list < l.heads * nb; ++list) {
    EXPECT_EQ(covered[list], l.host_offsets[list + 1] - l.host_offsets[list]) << "list " << list;
    const uint32_t qb = list % nb;
    if (qb == 0 || qb == nb - 1)
      EXPECT_EQ(parts[list], 4u) << "global query block " << qb;
    else
      EXPECT_EQ(parts[list], 1u) << "query block " << qb;
  }
  EXPECT_EQ(l.merge_count, 2 * l.heads);
  EXPECT_EQ(l.slots, 8 * l.heads);

  const vk::ops::SparseLists whole = vk::ops::upload_pattern(s(), pattern, false, UINT32_MAX);
  EXPECT_EQ(whole.item_count, whole.heads * nb);
  EXPECT_EQ(whole.merge_count, 0u);
  EXPECT_EQ(whole.slots, 0u);
}

TEST_F(VulkanKernels, BlockSparseAttentionSplitKeyLists) {
  // Split-K forward (parts merged with log-sum-exp rescaling) against the CPU op: contexts and the
  // captured probabilities (which read the merged lse). A low split size splits most lists.
  auto shape = [](int64_t len, int block, int r, int heads, int d, int batch, int pad, attn::RandomBlocks mode,
                  uint32_t split) {
    checks::SparseShape sh;
    sh.len = len;
    sh.block = block;
    sh.random = r;
    sh.heads = heads;
    sh.head_dim = d;
    sh.batch = batch;
    sh.padded_tail = pad;
    sh.mode = mode;
    sh.split_blocks = split;
    return sh;
  };
  using attn::RandomBlocks;
  expect_pass(checks::block_sparse_attention(s(), shape(64, 8, 1, 2, 8, 2, 5, RandomBlocks::HFTrain, 1)));
  expect_pass(checks::block_sparse_attention(s(), shape(75, 5, 2, 3, 12, 2, 7, RandomBlocks::HFTrain, 2)));
  expect_pass(checks::block_sparse_attention(s(), shape(90, 9, 1, 2, 5, 1, 4, RandomBlocks::HFTrain, 3)));  // d % 4
  expect_pass(
      checks::block_sparse_attention(s(), shape(128, 16, 2, 2, 16, 1, 20, RandomBlocks::HFEval, 2)));  // duplicates
  expect_pass(checks::block_sparse_attention(s(), shape(160, 16, 2, 2, 8, 1, 3, RandomBlocks::TF, 3)));
  expect_pass(
      checks::block_sparse_attention(s(), shape(600, 75, 1, 1, 24, 1, 0, RandomBlocks::HFTrain, 2)));  // block > 64
  // Automatic split size (the median list length, 8): the global query blocks run as 4 parts.
  expect_pass(checks::block_sparse_attention(s(), shape(1024, 32, 3, 2, 16, 1, 9, RandomBlocks::HFTrain, 0)));
  // The backward pass reads the merged lse.
  expect_pass(
      checks::block_sparse_attention_backward(s(), shape(128, 16, 2, 2, 16, 2, 9, RandomBlocks::HFEval, 2)));

  // A tiny submission budget (one key block of 64x64x64 is over its 1 MFLOP floor): every work
  // item in its own dispatch and submission.
  vk::DeviceOptions o = bbtest::test_device_options();
  o.max_submit_seconds = 1e-9;
  vk::Device small(o);
  vk::Stream st(small);
  const int before = st.submissions();
  expect_pass(checks::block_sparse_attention(st, shape(640, 64, 1, 1, 64, 1, 3, RandomBlocks::HFTrain, 2)));
  EXPECT_GT(st.submissions() - before, 10);
  BB_EXPECT_NO_VALIDATION_MESSAGES(small);
}

TEST_F(VulkanKernels, BlockSparseAttentionBackward) {
  checks::SparseShape sh;
  expect_pass(checks::block_sparse_attention_backward(s(), sh));  // 64 / block 8, r 1
  sh.batch = 2;
  sh.padded_tail = 11;
  sh.head_dim = 12;
  sh.heads = 3;
  expect_pass(checks::block_sparse_attention_backward(s(), sh));
  sh = checks::SparseShape();
  sh.len = 128;
  sh.block = 16;
  sh.random = 2;
  sh.head_dim = 16;
  sh.mode = attn::RandomBlocks::HFEval;  // every random block is block 0: a key block counted twice
  sh.padded_tail = 9;
  expect_pass(checks::block_sparse_attention_backward(s(), sh));
  sh = checks::SparseShape();
  sh.len = 90;
  sh.block = 9;
  sh.random = 1;
  sh.head_dim = 5;
  expect_pass(checks::block_sparse_attention_backward(s(), sh));
}

TEST_F(VulkanKernels, DenseAttention) {
  checks::DenseShape sh;
  sh.Lq = sh.Lk = 33;
  sh.heads = 3;
  sh.padded_tail = 4;
  sh.lowest_penalty = true;  // HF's extended mask (finfo.min)
  expect_pass(checks::dense_attention(s(), sh));
  sh = checks::DenseShape();
  sh.Lq = 7;
  sh.Lk = 50;  // cross attention
  sh.batch = 2;
  expect_pass(checks::dense_attention(s(), sh));
  sh = checks::DenseShape();
  sh.Lq = sh.Lk = 40;
  sh.causal = true;
  sh.lowest_penalty = true;
  expect_pass(checks::dense_attention(s(), sh));
  sh = checks::DenseShape();
  sh.Lq = 5;
  sh.Lk = 12;
  sh.causal = true;
  sh.causal_offset = 7;  // incremental decoding: 7 cached keys before the 5 new queries
  expect_pass(checks::dense_attention(s(), sh));
  sh = checks::DenseShape();
  sh.Lq = sh.Lk = 64;
  sh.simulated_block = 8;
  sh.padded_tail = 10;
  sh.batch = 2;
  expect_pass(checks::dense_attention(s(), sh));
  sh = checks::DenseShape();
  sh.Lq = sh.Lk = 130;
  sh.head_dim = 64;
  sh.heads = 1;
  sh.padded_tail = 2;
  expect_pass(checks::dense_attention(s(), sh));
}

TEST_F(VulkanKernels, CorruptedResultIsCaught) {
  // The comparison itself must be able to fail: a perturbed GPU result is reported as a mismatch.
  EXPECT_FALSE(checks::gemm(s(), 9, 9, 9, false, true, true, false, 1, true).passed);
  EXPECT_FALSE(checks::gemm(s(), 20, 9, 9, false, true, true, false, 1, true).passed);  // tiled
  EXPECT_FALSE(checks::layer_norm(s(), 3, 10, true).passed);
  checks::SparseShape sh;
  EXPECT_FALSE(checks::block_sparse_attention(s(), sh, true).passed);
  EXPECT_FALSE(checks::block_sparse_attention_backward(s(), sh, true).passed);
  EXPECT_FALSE(checks::dense_attention(s(), checks::DenseShape(), true).passed);
}

TEST_F(VulkanKernels, OpsRefuseBadArguments) {
  checks::GemmShape too_tall;  // the small-M kernel holds at most ops::kSmallMRows rows
  too_tall.M = vk::ops::kSmallMRows + 1;
  too_tall.path = vk::ops::GemmPath::small_m;
  EXPECT_THROW(checks::gemm(s(), too_tall), vk::VulkanError);
  vk::ops::SparseAttention a;  // no lists
  EXPECT_THROW(vk::ops::block_sparse_attention(s(), a), vk::VulkanError);
  vk::ops::DenseAttention d;
  d.Lq = 4;
  EXPECT_THROW(vk::ops::dense_attention(s(), d), vk::VulkanError);
}

TEST_F(VulkanKernels, ValidationLayersAreActive) {
  if (!bb::vk::validation_layer_available())
    GTEST_SKIP() << "VK_LAYER_KHRONOS_validation is not installed (vulkan-validationlayers): tests ran unvalidated";
  ASSERT_TRUE(device_->options().validation);
  // A deliberate misuse (a zero-sized buffer) must be reported, or "zero messages" proves nothing.
  const int before = device_->validation_errors();
  auto info = vk::make_struct<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
  info.size = 0;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  const VkResult r = vk::vkCreateBuffer(device_->handle(), &info, nullptr, &buffer);
  if (r == VK_SUCCESS && buffer) vk::vkDestroyBuffer(device_->handle(), buffer, nullptr);
  const int provoked = device_->validation_errors() - before;
  EXPECT_GE(provoked, 1) << "the validation layer did not report vkCreateBuffer(size = 0)";
  bbtest::VulkanTestEnvironment::expected_messages() += provoked;
  baseline_ += provoked;
}

TEST_F(VulkanKernels, PipelineCachePersistsAndRejectsForeignFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("bb-vk-cache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  vk::DeviceOptions o = bbtest::test_device_options();
  o.pipeline_cache_dir = dir.string();
  std::string path;
  {
    vk::Device d(o);
    EXPECT_FALSE(d.pipelines().cache_loaded());
    path = d.pipelines().cache_path();
    vk::Stream st(d);
    expect_pass(checks::softmax(st, 3, 10));  // creates a pipeline lazily
    EXPECT_EQ(d.pipelines().created(), 1);
  }  // saved on destruction
  ASSERT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(path.rfind(dir.string(), 0), 0u);
  {
    vk::Device d(o);
    EXPECT_TRUE(d.pipelines().cache_loaded()) << "a cache written for this device must be reused";
  }
  {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a pipeline cache, from another driver";
    vk::Device d(o);  // a foreign or corrupt file is ignored, never fatal
    EXPECT_FALSE(d.pipelines().cache_loaded());
    vk::Stream st(d);
    expect_pass(checks::softmax(st, 3, 10));
  }
  fs::remove_all(dir);
}
