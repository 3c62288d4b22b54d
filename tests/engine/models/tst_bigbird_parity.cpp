// Parity of the BigBird encoder and heads with every HF golden case (tests/data/hf-golden).
// Tolerance: fp32 max-abs <= 1e-4 (issue #3); random-block tables must be identical.
#include <gtest/gtest.h>

#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "tests/engine/support/golden.h"

using namespace bb;

namespace {

constexpr double kTol = 1e-4;

struct Case {
  std::string name;
  Head head;
  attn::RandomBlocks mode;
  bool has_attentions;
};

Head head_for(const std::string& model_class) {
  if (model_class == "BigBirdForMaskedLM") return Head::MaskedLM;
  if (model_class == "BigBirdForSequenceClassification") return Head::SequenceClassification;
  if (model_class == "BigBirdForQuestionAnswering") return Head::QuestionAnswering;
  return Head::None;
}

void run_case(const std::string& name) {
  const std::string dir = bbtest::data_path("hf-golden/" + name);
  const nlohmann::json cj = bbtest::read_json(dir + "/case.json");
  const Head head = head_for(cj["model_class"]);
  const attn::RandomBlocks mode = cj["mode"] == "eval" ? attn::RandomBlocks::HFEval : attn::RandomBlocks::HFTrain;

  BigBirdModel model = BigBirdModel::load(dir);
  io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
  io::SafetensorsFile want = io::SafetensorsFile::open(dir + "/outputs.safetensors");

  EncoderInputs inputs;
  inputs.input_ids = in.read_i64("input_ids");
  inputs.attention_mask = in.read_i64("attention_mask");
  EncoderOptions opt;
  opt.head = head;
  opt.random_blocks = mode;
  opt.output_hidden_states = want.contains("hidden_states.0");
  opt.capture.enabled = want.contains("attentions.layer0");
  EncoderOutputs got = model.forward(inputs, opt);

  EXPECT_EQ(attn::to_string(got.decision.type), cj["attention_type_used"].get<std::string>());
  bbtest::expect_close(name + " last_hidden_state", got.last_hidden_state, want.read_f32("last_hidden_state"), kTol);
  if (want.contains("pooler_output"))
    bbtest::expect_close(name + " pooler_output", got.pooler_output, want.read_f32("pooler_output"), kTol);
  if (want.contains("logits")) bbtest::expect_close(name + " logits", got.logits, want.read_f32("logits"), kTol);
  for (size_t i = 0; i < got.hidden_states.size(); ++i) {
    const std::string n = "hidden_states." + std::to_string(i);
    ASSERT_TRUE(want.contains(n)) << n;
    bbtest::expect_close(name + " " + n, got.hidden_states[i], want.read_f32(n), kTol);
  }
  if (opt.capture.enabled) {
    for (size_t l = 0; l < got.attentions.size(); ++l) {
      const Tensor ref = want.read_f32("attentions.layer" + std::to_string(l));
      const attn::AttentionMap& m = got.attentions[l][0];
      std::vector<float> all;
      for (int h = 0; h < m.heads; ++h) {
        std::vector<float> d = m.dense_head(h);
        all.insert(all.end(), d.begin(), d.end());
      }
      bbtest::expect_close(name + " attentions.layer" + std::to_string(l),
                           Tensor::from(ref.shape(), all), ref, kTol);
    }
  }
  if (head == Head::QuestionAnswering) {
    EXPECT_EQ(std::vector<int64_t>(got.token_type_ids.data(), got.token_type_ids.data() + got.token_type_ids.numel()),
              [&] {
                I64Tensor t = want.read_i64("derived.token_type_ids");
                return std::vector<int64_t>(t.data(), t.data() + t.numel());
              }());
    // Question positions sit near -1e6: compare those relative to their magnitude.
    for (const char* n : {"start_logits", "end_logits"}) {
      const Tensor ref = want.read_f32(n);
      const Tensor& g = std::string(n) == "start_logits" ? got.start_logits : got.end_logits;
      ASSERT_EQ(g.shape(), ref.shape());
      double worst = 0;
      for (int64_t i = 0; i < ref.numel(); ++i) {
        const double tol = std::fabs(ref[i]) > 1e5 ? 1e-6 * std::fabs(ref[i]) : kTol;
        const double e = std::fabs(double(g[i]) - ref[i]);
        EXPECT_LE(e, tol) << n << "[" << i << "]";
        if (std::fabs(ref[i]) <= 1e5) worst = std::max(worst, e);
      }
      std::printf("  %-28s max|diff| = %.3g (non-question positions)\n", n, worst);
    }
  }
  for (size_t l = 0; l < got.random_tables.size(); ++l) {
    const std::string n = "rand_attn.layer" + std::to_string(l);
    ASSERT_TRUE(want.contains(n)) << n;
    I32Tensor ref = want.read_i32(n);
    EXPECT_EQ(got.random_tables[l].index, std::vector<int32_t>(ref.data(), ref.data() + ref.numel())) << n;
  }
  if (got.decision.type != attn::AttentionType::OriginalFull) {
    EXPECT_TRUE(want.contains("rand_attn.layer0"));
  }
}

}  // namespace

TEST(BigBirdParity, a_full_256) { run_case("a_full_256"); }
TEST(BigBirdParity, b_sparse_train_512) { run_case("b_sparse_train_512"); }
TEST(BigBirdParity, b_sparse_train_1024) { run_case("b_sparse_train_1024"); }
TEST(BigBirdParity, c_sparse_eval_512) { run_case("c_sparse_eval_512"); }
TEST(BigBirdParity, d_padded_batch_512) { run_case("d_padded_batch_512"); }
TEST(BigBirdParity, d_internal_pad_500) { run_case("d_internal_pad_500"); }
TEST(BigBirdParity, e_fallback_full_128) { run_case("e_fallback_full_128"); }
TEST(BigBirdParity, f_seqcls_512) { run_case("f_seqcls_512"); }
TEST(BigBirdParity, f_qa_512) { run_case("f_qa_512"); }
TEST(BigBirdParity, g_grad_mlm_512) { run_case("g_grad_mlm_512"); }
