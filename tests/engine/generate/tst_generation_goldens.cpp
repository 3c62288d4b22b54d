// generate() against every HF generation golden in tests/data/generation (greedy, beam search with
// length penalties and every early_stopping mode, n-gram blocking, min_length, forced EOS, padded
// batches): identical token ids and `sequences` rows, sequence_scores within 1e-5.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "tests/engine/support/golden.h"

using namespace bb;
using nlohmann::json;

namespace {

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

class GenerationGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GenerationGolden, EveryCaseMatchesHf) {
  const std::string dir = bbtest::data_path("generation/" + GetParam());
  const json doc = bbtest::read_json(dir + "/expected.json");
  PegasusModel model = PegasusModel::load(dir);
  PegasusEncodeOptions eopt;
  eopt.random_blocks = attn::RandomBlocks::HFEval;  // the fixtures ran HF in model.eval()

  // Model first: the first decoder step against the stored logits separates model from search bugs.
  for (const auto& [key, dbg] : doc["debug"].items()) {
    io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs_" + key + ".safetensors");
    PegasusEncoding enc = model.encode(in.read_i64("input_ids"), in.read_i64("attention_mask"), eopt);
    const int64_t B = enc.hidden.dim(0);
    std::vector<int32_t> rows;
    for (int64_t b = 0; b < B; ++b) rows.push_back(int32_t(b));
    PegasusCache cache = model.start_decoder(enc, rows, 1);
    std::vector<int64_t> start(size_t(B), 0);
    Tensor logits = model.decode(cache, start.data(), 1, nullptr, false);
    std::vector<float> want;
    for (const json& row : dbg["first_step_logits"])
      for (const json& v : row) want.push_back(v.get<float>());
    ASSERT_EQ(int64_t(want.size()), logits.numel());
    EXPECT_LE(bbtest::max_abs_diff(logits.data(), want.data(), logits.numel()).max_abs, 1e-4) << key;
  }

  int checked = 0;
  for (const json& c : doc["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(GetParam() + " " + name);
    io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/" + c["input"].get<std::string>());
    PegasusEncoding enc = model.encode(in.read_i64("input_ids"), in.read_i64("attention_mask"), eopt);
    gen::PegasusSource source(model, enc);
    const gen::GenerationConfig g = config_from(c["generation_config"]);
    const gen::GenerationResult r = gen::generate(source, g);
    const json& exp = c["expected"];
    ASSERT_EQ(r.outputs.size(), exp["sequences"].size());
    for (size_t b = 0; b < r.outputs.size(); ++b) {
      EXPECT_EQ(r.outputs[b].sequence, exp["sequences"][b].get<std::vector<int64_t>>()) << "row " << b;
      EXPECT_EQ(r.outputs[b].tokens, exp["generated"][b].get<std::vector<int64_t>>()) << "row " << b;
      EXPECT_EQ(r.outputs[b].ends_with_eos, exp["ends_with_eos"][b].get<bool>());
      if (g.num_beams > 1) {
        const double want = exp["sequence_scores"][b];
        EXPECT_NEAR(double(float(r.outputs[b].score)), want, 1e-5) << "row " << b;
      } else {
        double sum = 0;
        for (const json& lp : exp["token_logprobs"][b]) sum += lp.get<double>();
        EXPECT_NEAR(r.outputs[b].score, sum, 1e-4) << "row " << b;
      }
    }
    EXPECT_EQ(r.beam, g.num_beams > 1);
    EXPECT_FALSE(r.cancelled);
    ++checked;
  }
  EXPECT_EQ(checked, int(doc["cases"].size()));
  std::printf("  %s: %d cases identical to HF\n", GetParam().c_str(), checked);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GenerationGolden, ::testing::Values("bbp_tiny_b16r3_s11", "bbp_tiny_b16r3_s25"));

// Capturing cross-attention changes nothing and gives one distribution over the input per token.
TEST(GenerationGolden, CrossAttentionPerTokenIsADistributionAndChangesNothing) {
  const std::string dir = bbtest::data_path("generation/bbp_tiny_b16r3_s11");
  PegasusModel model = PegasusModel::load(dir);
  io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs_B2_L256.safetensors");
  const I64Tensor mask = in.read_i64("attention_mask");
  PegasusEncodeOptions eopt;
  eopt.random_blocks = attn::RandomBlocks::HFEval;
  PegasusEncoding enc = model.encode(in.read_i64("input_ids"), mask, eopt);
  for (int beams : {1, 4}) {
    gen::GenerationConfig g;
    g.num_beams = beams;
    g.max_length = 40;
    g.decoder_start_token_id = 0;
    gen::PegasusSource plain(model, enc), captured(model, enc);
    const gen::GenerationResult a = gen::generate(plain, g);
    g.capture_cross_attention = true;
    const gen::GenerationResult b = gen::generate(captured, g);
    for (size_t row = 0; row < 2; ++row) {
      EXPECT_EQ(a.outputs[row].sequence, b.outputs[row].sequence);
      const auto& att = b.outputs[row].cross_attention;
      ASSERT_EQ(att.size(), b.outputs[row].tokens.size());
      for (const std::vector<float>& w : att) {
        ASSERT_EQ(int64_t(w.size()), mask.dim(1));
        double sum = 0, on_padding = 0;
        for (int64_t t = 0; t < mask.dim(1); ++t) {
          sum += w[size_t(t)];
          if (mask[int64_t(row) * mask.dim(1) + t] == 0) on_padding += w[size_t(t)];
        }
        EXPECT_NEAR(sum, 1.0, 1e-4);
        EXPECT_LT(on_padding, 1e-30);  // padded input tokens: exp(finfo.min) underflows (the vectorised exp stops at e^-87)
      }
    }
  }
}

}  // namespace
