// The BigBird-Pegasus decoder on Vulkan: per-step logits against the CPU decoder (fp32, 1e-4) with
// beam reorders, padded sources and an LM head split into vocabulary slices; greedy and beam
// search token sequences identical to the HF generation goldens (TF beam search: identical to the
// CPU's); a forced kernel mismatch and a
// device lost in the middle of a beam search both fall back to the CPU with one notice and the
// CPU's tokens; on the CLI a device that fails before the encoder prints one notice, not two.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>

#include "engine/backend/backend.h"
#include "engine/backend/pegasus_decoder_backend.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "tests/engine/backend/backend_test_util.h"
#include "tests/engine/backend/vulkan_test_util.h"
#include "tests/engine/generate/tiny_pegasus.h"
#include "tests/engine/support/golden.h"

using namespace bb;
using nlohmann::json;

namespace {

constexpr double kTol = 1e-4;  // the CPU decoder's tolerance against HF
bbtest::TinyPegasusCleanup cleanup;

using bbtest::Notices;

using bbtest::ScopedEnv;

const std::string kFixture = "generation/bbp_tiny_b16r3_s11";
const backend::Selection kVulkan{backend::Kind::Vulkan, ""};

gen::GenerationConfig config_from(const json& gc) {
  gen::GenerationConfig g;
  g.num_beams = gc["num_beams"];
  g.max_length = gc["max_length"];
  g.min_length = gc.value("min_length", 0);
  g.length_penalty = gc.value("length_penalty", 1.0);
  const json& es = gc["early_stopping"];
  g.early_stopping = es.is_string() ? gen::parse_early_stopping(es.get<std::string>())
                                    : (es.get<bool>() ? gen::EarlyStopping::True : gen::EarlyStopping::False);
  g.no_repeat_ngram_size = gc.value("no_repeat_ngram_size", 0);
  g.forced_eos_token_id = gc["forced_eos_token_id"].is_null() ? -1 : gc["forced_eos_token_id"].get<int64_t>();
  g.pad_token_id = gc["pad_token_id"];
  g.eos_token_id = gc["eos_token_id"];
  g.decoder_start_token_id = gc["decoder_start_token_id"];
  return g;
}

PegasusEncoding encode_on_cpu(const PegasusModel& model, const std::string& inputs_path) {
  io::SafetensorsFile in = io::SafetensorsFile::open(inputs_path);
  PegasusEncodeOptions eopt;
  eopt.random_blocks = attn::RandomBlocks::HFEval;  // the fixtures ran HF in model.eval()
  return model.encode(in.read_i64("input_ids"), in.read_i64("attention_mask"), eopt);
}

const json& golden_case(const json& doc, const std::string& name) {
  for (const json& c : doc["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

void expect_golden_tokens(const gen::GenerationResult& r, const json& c) {
  const json& exp = c["expected"];
  ASSERT_EQ(r.outputs.size(), exp["sequences"].size());
  for (size_t b = 0; b < r.outputs.size(); ++b) {
    EXPECT_EQ(r.outputs[b].sequence, exp["sequences"][b].get<std::vector<int64_t>>()) << "row " << b;
    EXPECT_EQ(r.outputs[b].tokens, exp["generated"][b].get<std::vector<int64_t>>()) << "row " << b;
    EXPECT_EQ(r.outputs[b].ends_with_eos, exp["ends_with_eos"][b].get<bool>()) << "row " << b;
    if (r.beam) {
      EXPECT_NEAR(double(float(r.outputs[b].score)), double(exp["sequence_scores"][b]), 1e-5) << "row " << b;
    } else {
      double sum = 0;
      for (const json& lp : exp["token_logprobs"][b]) sum += lp.get<double>();
      EXPECT_NEAR(r.outputs[b].score, sum, 1e-4) << "row " << b;
    }
  }
}

class VulkanPegasusDecoder : public ::testing::Test {
 protected:
  void SetUp() override {
    BB_REQUIRE_VULKAN();
    if (vk::validation_layer_available()) validate_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_VALIDATE", "1");
    cache_ = std::make_unique<ScopedEnv>("BIGBIRD_VK_PIPELINE_CACHE_DIR", "none");
  }
  std::unique_ptr<ScopedEnv> validate_, cache_;
};

// Steps a Vulkan session and a CPU cache with the same tokens and reorders; every step's logits agree.
void compare_steps(const PegasusModel& model, const PegasusEncoding& enc, const std::vector<int32_t>& rows,
                   int steps, const std::vector<std::vector<int32_t>>& reorders) {
  const int64_t N = int64_t(rows.size()), V = model.config().vocab_size;
  std::string used;
  std::unique_ptr<gen::DecoderSession> gpu =
      model.decoder_backend().start(kVulkan, model.weights(), model.config(), enc.hidden, enc.mask, rows, steps, &used);
  ASSERT_EQ(used.rfind("vulkan (", 0), 0u) << used;
  PegasusCache cpu = model.start_decoder(enc, rows, steps);
  std::vector<int64_t> ids(size_t(N), model.config().decoder_start_token_id);
  uint64_t lcg = 12345;
  for (int t = 0; t < steps; ++t) {
    const Tensor want = model.decode(cpu, ids.data(), 1, nullptr, false);
    const Tensor got = gpu->step(ids);
    ASSERT_EQ(got.shape(), (Shape{N, V}));
    const double err = bbtest::max_abs_diff(got.data(), want.data(), got.numel()).max_abs;
    EXPECT_LE(err, kTol) << "step " << t;
    if (t < int(reorders.size()) && !reorders[size_t(t)].empty()) {
      gpu->reorder(reorders[size_t(t)]);
      reorder_pegasus_cache(cpu, reorders[size_t(t)]);
    }
    for (int64_t r = 0; r < N; ++r) {
      lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
      ids[size_t(r)] = int64_t((lcg >> 33) % uint64_t(V));
    }
  }
  EXPECT_EQ(used.rfind("vulkan (", 0), 0u) << used;
}

}  // namespace

TEST_F(VulkanPegasusDecoder, StepLogitsMatchTheCpuDecoderThroughBeamReorders) {
  Notices notices;
  const std::string dir = bbtest::data_path(kFixture);
  const PegasusModel model = PegasusModel::load(dir);
  // Two documents (the second padded), three beams each; reorders duplicate, drop and swap rows.
  const PegasusEncoding enc = encode_on_cpu(model, dir + "/inputs_B2_L256.safetensors");
  ASSERT_EQ(enc.hidden.dim(0), 2);
  compare_steps(model, enc, {0, 0, 0, 1, 1, 1}, 9,
                {{}, {1, 1, 0, 5, 3, 3}, {2, 0, 1, 3, 4, 5}, {}, {0, 0, 0, 4, 4, 3}, {1, 2, 0, 5, 5, 4}});
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusDecoder, LmHeadInVocabularySlicesMatchesTheCpu) {
  // The tiny model has the real 96103-piece vocabulary: a 4 MiB binding limit splits its LM head
  // (12.3 MB) into four slices.
  ScopedEnv binding("BIGBIRD_VK_MAX_BINDING_BYTES", std::to_string(4 << 20));
  Notices notices;
  const PegasusModel model = PegasusModel::load(bbtest::tiny_pegasus_dir());
  I64Tensor ids({1, 40});
  for (int64_t t = 0; t < 40; ++t) ids[t] = 100 + 37 * t;
  const PegasusEncoding enc = model.encode(ids, I64Tensor());
  compare_steps(model, enc, {0, 0}, 4, {{1, 0}});
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusDecoder, GreedyAndBeamSearchMatchTheHfGoldens) {
  // By default greedy and beam search on one document and on a padded batch of two, with n-gram
  // blocking, min_length, length penalties, early stopping and forced EOS (about 2 s on lavapipe);
  // BIGBIRD_VK_ALL_GOLDENS=1 runs every case of both fixtures (about 23 s).
  const bool all = std::getenv("BIGBIRD_VK_ALL_GOLDENS") && std::string(std::getenv("BIGBIRD_VK_ALL_GOLDENS")) == "1";
  const std::vector<std::string> subset = {"L256/greedy_ml32", "L256/beam4_nrng3_min10_ml40",
                                           "L256/beam4_lp2.0_forcedeos_ml16", "B2_L256/greedy_ml32",
                                           "B2_L256/beam5_lp0.8_esTrue_ml40"};
  Notices notices;
  int checked = 0;
  for (const std::string& fixture : {kFixture, std::string("generation/bbp_tiny_b16r3_s25")}) {
    if (!all && fixture != kFixture) continue;
    const std::string dir = bbtest::data_path(fixture);
    const json doc = bbtest::read_json(dir + "/expected.json");
    const PegasusModel model = PegasusModel::load(dir);
    for (const json& c : doc["cases"]) {
      const std::string name = c["name"];
      if (!all && std::find(subset.begin(), subset.end(), name) == subset.end()) continue;
      SCOPED_TRACE(fixture + " " + name);
      const PegasusEncoding enc = encode_on_cpu(model, dir + "/" + c["input"].get<std::string>());
      gen::PegasusSource source(model, enc, kVulkan);
      const gen::GenerationResult r = gen::generate(source, config_from(c["generation_config"]));
      EXPECT_EQ(source.decoder_backend().rfind("vulkan (", 0), 0u) << source.decoder_backend();
      expect_golden_tokens(r, c);
      ++checked;
    }
  }
  EXPECT_EQ(checked, all ? 50 : int(subset.size()));
  std::printf("  %d golden cases identical to HF on Vulkan\n", checked);
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusDecoder, TfBeamSearchMatchesTheCpu) {
  // The original TF beam search (no HF golden): the same tokens and scores as on the CPU.
  Notices notices;
  const std::string dir = bbtest::data_path(kFixture);
  const PegasusModel model = PegasusModel::load(dir);
  const PegasusEncoding enc = encode_on_cpu(model, dir + "/inputs_B2_L256.safetensors");
  gen::GenerationConfig g;
  g.num_beams = 4;
  g.max_length = 24;
  g.length_penalty = 0.8;
  g.decoder_start_token_id = 0;
  g.beam_scoring = gen::BeamScoring::TF;
  gen::PegasusSource cpu(model, enc), gpu(model, enc, kVulkan);
  const gen::GenerationResult want = gen::generate(cpu, g), got = gen::generate(gpu, g);
  EXPECT_EQ(gpu.decoder_backend().rfind("vulkan (", 0), 0u) << gpu.decoder_backend();
  ASSERT_EQ(got.outputs.size(), want.outputs.size());
  for (size_t b = 0; b < want.outputs.size(); ++b) {
    EXPECT_EQ(got.outputs[b].sequence, want.outputs[b].sequence) << "row " << b;
    EXPECT_NEAR(got.outputs[b].score, want.outputs[b].score, 1e-4) << "row " << b;
  }
  for (const std::string& l : notices.lines) ADD_FAILURE() << "unexpected notice: " << l;
}

TEST_F(VulkanPegasusDecoder, KernelMismatchFallsBackToTheCpuTokens) {
  const std::string dir = bbtest::data_path(kFixture);
  const json doc = bbtest::read_json(dir + "/expected.json");
  const json& c = golden_case(doc, "L256/beam4_lp1.0_esFalse_ml12");
  ScopedEnv fault("BIGBIRD_VK_FAULT", "mismatch:attention_dense");
  const PegasusModel model = PegasusModel::load(dir);
  const PegasusEncoding enc = encode_on_cpu(model, dir + "/" + c["input"].get<std::string>());
  Notices notices;
  gen::PegasusSource source(model, enc, kVulkan);
  const gen::GenerationResult r = gen::generate(source, config_from(c["generation_config"]));
  EXPECT_EQ(source.decoder_backend().rfind("cpu (fallback: ", 0), 0u) << source.decoder_backend();
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_NE(notices.lines[0].find("vulkan backend unavailable ("), std::string::npos) << notices.lines[0];
  EXPECT_NE(notices.lines[0].find("mismatch"), std::string::npos) << notices.lines[0];
  expect_golden_tokens(r, c);
}

TEST_F(VulkanPegasusDecoder, DeviceLostMidSearchReplaysOnTheCpu) {
  // A device of its own (another submission limit), so losing it leaves the other tests' device alone.
  ScopedEnv own_device("BIGBIRD_VK_MAX_SUBMIT_MS", "321");
  const std::string dir = bbtest::data_path(kFixture);
  const json doc = bbtest::read_json(dir + "/expected.json");
  const json& c = golden_case(doc, "L256/beam4_lp1.0_esFalse_ml40");
  const PegasusModel model = PegasusModel::load(dir);
  const PegasusEncoding enc = encode_on_cpu(model, dir + "/" + c["input"].get<std::string>());
  vk::DeviceOptions o = vk::DeviceOptions::from_environment();
  o.allow_cpu_device = true;  // what --backend vulkan acquires
  std::string reason;
  const std::shared_ptr<vk::Device> device = vk::acquire_device(o, &reason);
  ASSERT_TRUE(device) << reason;

  Notices notices;
  gen::PegasusSource source(model, enc, kVulkan);
  std::string during;
  gen::GenerationControl control;
  control.on_step = [&](const gen::StepUpdate& u) {
    if (u.step == 6) {
      during = source.decoder_backend();
      device->mark_lost();  // as a driver reports VK_ERROR_DEVICE_LOST
    }
    return true;
  };
  const gen::GenerationResult r = gen::generate(source, config_from(c["generation_config"]), control);
  EXPECT_EQ(during.rfind("vulkan (", 0), 0u) << during;
  EXPECT_EQ(source.decoder_backend().rfind("cpu (fallback: ", 0), 0u) << source.decoder_backend();
  ASSERT_EQ(notices.lines.size(), 1u);
  EXPECT_NE(notices.lines[0].find("lost"), std::string::npos) << notices.lines[0];
  EXPECT_GT(r.steps, 6);
  expect_golden_tokens(r, c);
}

TEST_F(VulkanPegasusDecoder, GenerateCliFallsBackOnceForEncoderAndDecoder) {
  const std::string dir = bbtest::data_path(kFixture), tmp = ::testing::TempDir();
  auto run = [&](const std::string& backend, std::string* err) {
    const std::string out = tmp + "/vk_dec_" + backend + ".json", log = tmp + "/vk_dec_" + backend + ".err";
    const std::string cmd = "'" + std::string(BIGBIRD_CLI) + "' generate --model '" + dir + "' --inputs '" + dir +
                            "/inputs_B2_L256.safetensors' --num-beams 3 --max-length 12 --backend " + backend +
                            " --out '" + out + "' 2>'" + log + "'";
    const int status = std::system(cmd.c_str());
    std::ifstream le(log);
    *err = std::string(std::istreambuf_iterator<char>(le), std::istreambuf_iterator<char>());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << backend << ": " << *err;
    return bbtest::read_json(out);
  };
  std::string cpu_err, vk_err;
  const json cpu = run("cpu", &cpu_err);
  ScopedEnv fault("BIGBIRD_VK_FAULT", "mismatch:attention_dense");
  const json vk = run("vulkan", &vk_err);
  EXPECT_EQ(std::string(vk["encoder_backend"]).rfind("cpu (fallback: ", 0), 0u) << vk["encoder_backend"];
  EXPECT_EQ(vk["decoder_backend"], vk["encoder_backend"]);
  EXPECT_EQ(vk["sequences"], cpu["sequences"]);
  EXPECT_EQ(vk["sequences_scores"], cpu["sequences_scores"]);
  size_t notices = 0;
  for (size_t at = vk_err.find("bigbird: vulkan backend unavailable ("); at != std::string::npos;
       at = vk_err.find("bigbird: vulkan backend unavailable (", at + 1))
    ++notices;
  EXPECT_EQ(notices, 1u) << vk_err;
}
