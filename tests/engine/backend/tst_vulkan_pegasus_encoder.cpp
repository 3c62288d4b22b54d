// The BigBird-Pegasus encoder on Vulkan against the HF golden h_pegasus_512 and the CPU encoder at
// the CPU path's tolerance (1e-4): block_sparse (train and eval random blocks), original_full with
// padding, a length that needs block padding, the per-layer callback, the fallback on a forced
// kernel mismatch, and `generate` / `summarize --backend vulkan` end to end (encoder and decoder on the GPU).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/backend/backend.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "tests/engine/backend/backend_test_util.h"
#include "tests/engine/backend/vulkan_test_util.h"
#include "tests/engine/generate/tiny_pegasus.h"
#include "tests/engine/support/golden.h"

using namespace bb;

namespace {

constexpr double kTol = 1e-4;
bbtest::TinyPegasusCleanup cleanup;

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun run_cli(const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/vk_pegasus_out.txt", err = dir + "/vk_pegasus_err.txt";
  const int status = std::system(("'" + std::string(BIGBIRD_CLI) + "' " + args + " >'" + out + "' 2>'" + err + "'").c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}  // tst_pegasus_parity's tolerance (CPU vs HF)

using bbtest::Notices;

using bbtest::ScopedEnv;

const std::string& case_dir() {
  static const std::string d = bbtest::data_path("hf-golden/h_pegasus_512");
  return d;
}

class VulkanPegasusEncoder : public ::testing::Test {
 protected:
  void SetUp() override {
    BB_REQUIRE_VULKAN();
    if (vk::validation_layer_available()) validate_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_VALIDATE", "1");
    cache_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_PIPELINE_CACHE_DIR", "none");
  }
  std::unique_ptr<ScopedEnv> validate_, cache_;
  PegasusModel model = PegasusModel::load(case_dir());
  io::SafetensorsFile in = io::SafetensorsFile::open(case_dir() + "/inputs.safetensors");
};

PegasusEncodeOptions with(backend::Kind kind, attn::RandomBlocks rb = attn::RandomBlocks::HFEval) {
  PegasusEncodeOptions o;
  o.backend = kind;
  o.random_blocks = rb;
  return o;
}

void expect_same_encoding(const PegasusEncoding& gpu, const PegasusEncoding& cpu, const std::string& what) {
  EXPECT_EQ(gpu.backend.rfind("vulkan (", 0), 0u) << what << " ran on " << gpu.backend;
  EXPECT_EQ(cpu.backend, "cpu");
  EXPECT_EQ(gpu.decision.type, cpu.decision.type) << what;
  EXPECT_EQ(gpu.decision.padded_len, cpu.decision.padded_len) << what;
  bbtest::expect_close(what + " hidden", gpu.hidden, cpu.hidden, kTol);
  bbtest::expect_close(what + " mask", gpu.mask, cpu.mask, 0.0);
  ASSERT_EQ(gpu.random_tables.size(), cpu.random_tables.size()) << what;
  for (size_t l = 0; l < gpu.random_tables.size(); ++l)
    EXPECT_EQ(gpu.random_tables[l].index, cpu.random_tables[l].index) << what << " layer " << l;
}

}  // namespace

TEST_F(VulkanPegasusEncoder, GoldenTrainModeEncoderOutput) {
  Notices notices;
  const I64Tensor ids = in.read_i64("input_ids"), mask = in.read_i64("attention_mask");
  const PegasusEncoding gpu = model.encode(ids, mask, with(backend::Kind::Vulkan, attn::RandomBlocks::HFTrain));
  ASSERT_EQ(gpu.backend.rfind("vulkan (", 0), 0u) << gpu.backend;
  EXPECT_EQ(gpu.decision.type, attn::AttentionType::BlockSparse);
  io::SafetensorsFile want = io::SafetensorsFile::open(case_dir() + "/outputs.safetensors");
  bbtest::expect_close("encoder_last_hidden_state", gpu.hidden, want.read_f32("encoder_last_hidden_state"), kTol);
  const PegasusEncoding cpu = model.encode(ids, mask, with(backend::Kind::Cpu, attn::RandomBlocks::HFTrain));
  expect_same_encoding(gpu, cpu, "train");
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusEncoder, EvalModeFullAttentionAndBlockPadding) {
  Notices notices;
  const I64Tensor ids = in.read_i64("input_ids");
  // Eval-mode random blocks, then 500 tokens (padded to 512 inside) with a padded tail, then full attention.
  expect_same_encoding(model.encode(ids, I64Tensor(), with(backend::Kind::Vulkan)),
                       model.encode(ids, I64Tensor(), with(backend::Kind::Cpu)), "eval");
  const int64_t L = 500;
  I64Tensor short_ids({1, L}), short_mask({1, L});
  for (int64_t t = 0; t < L; ++t) {
    short_ids[t] = ids[t];
    short_mask[t] = t < 450 ? 1 : 0;
  }
  expect_same_encoding(model.encode(short_ids, short_mask, with(backend::Kind::Vulkan)),
                       model.encode(short_ids, short_mask, with(backend::Kind::Cpu)), "500 tokens");
  PegasusEncodeOptions full_gpu = with(backend::Kind::Vulkan), full_cpu = with(backend::Kind::Cpu);
  full_gpu.attention_type = full_cpu.attention_type = attn::AttentionType::OriginalFull;
  const PegasusEncoding full = model.encode(short_ids, short_mask, full_gpu);
  EXPECT_EQ(full.decision.type, attn::AttentionType::OriginalFull);
  expect_same_encoding(full, model.encode(short_ids, short_mask, full_cpu), "original_full");
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusEncoder, ReportsEveryLayer) {
  std::vector<int> seen;
  PegasusEncodeOptions o = with(backend::Kind::Vulkan);
  o.on_layer = [&](int done, int layers) {
    EXPECT_EQ(layers, model.config().num_hidden_layers);
    seen.push_back(done);
  };
  const PegasusEncoding e = model.encode(in.read_i64("input_ids"), I64Tensor(), o);
  EXPECT_EQ(e.backend.rfind("vulkan (", 0), 0u) << e.backend;
  std::vector<int> want;
  for (int l = 1; l <= model.config().num_hidden_layers; ++l) want.push_back(l);
  EXPECT_EQ(seen, want);
}

TEST_F(VulkanPegasusEncoder, KernelMismatchFallsBackToTheCpuNumbers) {
  const I64Tensor ids = in.read_i64("input_ids");
  const PegasusEncoding cpu = model.encode(ids, I64Tensor(), with(backend::Kind::Cpu));
  ScopedEnv fault("BIGBIRD_VK_FAULT", "mismatch:attention_block_sparse");
  PegasusModel fresh = PegasusModel::load(case_dir());
  Notices notices;
  const PegasusEncoding got = fresh.encode(ids, I64Tensor(), with(backend::Kind::Vulkan));
  EXPECT_EQ(got.backend.rfind("cpu (fallback: ", 0), 0u) << got.backend;
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_NE(notices.lines[0].find("vulkan backend unavailable ("), std::string::npos) << notices.lines[0];
  EXPECT_NE(notices.lines[0].find("mismatch"), std::string::npos) << notices.lines[0];
  bbtest::expect_close("fallback hidden", got.hidden, cpu.hidden, 0.0);
}

TEST_F(VulkanPegasusEncoder, CaptureRunsOnTheCpuWithANotice) {
  PegasusEncodeOptions o = with(backend::Kind::Vulkan);
  o.capture.enabled = true;
  Notices notices;
  const PegasusEncoding e = model.encode(in.read_i64("input_ids"), I64Tensor(), o);
  EXPECT_EQ(e.backend, "cpu");
  EXPECT_FALSE(e.attentions.empty());
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_EQ(notices.lines[0],
            "vulkan: attention capture of the BigBird-Pegasus encoder is not supported on the GPU yet; running on the CPU");
}

TEST_F(VulkanPegasusEncoder, GenerateEncodesAndDecodesOnTheGpu) {
  const std::string dir = ::testing::TempDir();
  auto run = [&](const std::string& backend, std::string* err) {
    const std::string out = dir + "/pegasus_gen_" + backend + ".json", log = dir + "/pegasus_gen_" + backend + ".err";
    const std::string cmd = "'" + std::string(BIGBIRD_CLI) + "' generate --model '" + case_dir() + "' --inputs '" +
                            case_dir() + "/inputs.safetensors' --num-beams 2 --max-length 6 --backend " + backend +
                            " --out '" + out + "' 2>'" + log + "'";
    const int status = std::system(cmd.c_str());
    std::ifstream le(log);
    *err = std::string(std::istreambuf_iterator<char>(le), std::istreambuf_iterator<char>());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << backend << ": " << *err;
    return bbtest::read_json(out);
  };
  std::string cpu_err, vk_err;
  const nlohmann::json cpu = run("cpu", &cpu_err), vk = run("vulkan", &vk_err);
  EXPECT_EQ(cpu["encoder_backend"], "cpu");
  EXPECT_EQ(std::string(vk["encoder_backend"]).rfind("vulkan (", 0), 0u) << vk["encoder_backend"];
  EXPECT_EQ(cpu["decoder_backend"], "cpu");
  EXPECT_EQ(std::string(vk["decoder_backend"]).rfind("vulkan (", 0), 0u) << vk["decoder_backend"];
  EXPECT_EQ(vk["sequences"], cpu["sequences"]);
  ASSERT_EQ(vk["sequences_scores"].size(), cpu["sequences_scores"].size());
  for (size_t i = 0; i < cpu["sequences_scores"].size(); ++i)
    EXPECT_NEAR(double(vk["sequences_scores"][i]), double(cpu["sequences_scores"][i]), 1e-4);
  EXPECT_EQ(cpu_err.find("vulkan"), std::string::npos) << cpu_err;
  EXPECT_EQ(vk_err.find("not supported on the GPU"), std::string::npos) << vk_err;
}

TEST_F(VulkanPegasusEncoder, SummarizeEncodesAndDecodesOnTheGpu) {
  const std::string args = "summarize --model '" + bbtest::tiny_pegasus_dir() + "' --vocab '" + bbtest::pegasus_vocab() +
                           "' --text 'Sparse attention lets transformers read long documents. It is fast.' --json" +
                           " --quiet --num-beams 2 --max-length 6 --backend ";
  const CliRun cpu = run_cli(args + "cpu"), vk = run_cli(args + "vulkan");
  ASSERT_EQ(cpu.code, 0) << cpu.err;
  ASSERT_EQ(vk.code, 0) << vk.err;
  const nlohmann::json jc = nlohmann::json::parse(cpu.out), jv = nlohmann::json::parse(vk.out);
  ASSERT_EQ(jv["chunks"].size(), 1u);
  EXPECT_EQ(jc["chunks"][0]["encoder_backend"], "cpu");
  EXPECT_EQ(std::string(jv["chunks"][0]["encoder_backend"]).rfind("vulkan (", 0), 0u) << jv["chunks"][0];
  EXPECT_EQ(jc["chunks"][0]["decoder_backend"], "cpu");
  EXPECT_EQ(std::string(jv["chunks"][0]["decoder_backend"]).rfind("vulkan (", 0), 0u) << jv["chunks"][0];
  EXPECT_EQ(jv["chunks"][0]["summary_ids"], jc["chunks"][0]["summary_ids"]);
  EXPECT_NEAR(double(jv["chunks"][0]["score"]), double(jc["chunks"][0]["score"]), 1e-4);
  EXPECT_EQ(cpu.err.find("vulkan"), std::string::npos) << cpu.err;
  EXPECT_EQ(vk.err.find("not supported on the GPU"), std::string::npos) << vk.err;
}
