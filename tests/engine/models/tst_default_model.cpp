// The bundled default model (resources/default-model, trained by scripts/default-model/train): it
// loads, its config is the documented shape and fits the size budget, fill-mask runs on held-out
// Austen (Persuasion is not in its training data) through the engine and through the CLI without
// --model, and on a fixed held-out snippet its MLM loss is far below that of the same architecture's
// random initialisation, measured here in the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/default_model.h"
#include "engine/models/fill_mask.h"
#include "engine/train/data/examples.h"
#include "engine/train/data/mlm_data.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"
#include "tests/engine/support/cli.h"

using namespace bb;
namespace fs = std::filesystem;

namespace {

const std::string kDir = default_model_dir();
const std::string kHeldOutSentence =
    "She had been forced into prudence in her youth, she learned [MASK] as she grew older: the natural sequel of an "
    "unnatural beginning.";

std::unique_ptr<tok::Tokenizer> model_tokenizer() {
  const std::optional<std::string> file = find_tokenizer_file(kDir);
  if (!file) throw Error(kDir + ": no tokenizer file");
  return tok::load_tokenizer(*file);
}

TEST(DefaultModel, ConfigIsTheDocumentedShapeAndTheWeightsFitTheBudget) {
  const ModelConfig c = load_config(kDir + "/config.json");  // validates
  EXPECT_EQ(c.family, ModelFamily::BigBird);
  EXPECT_EQ(c.vocab_size, 50358);
  EXPECT_EQ(c.hidden_size, 192);
  EXPECT_EQ(c.num_hidden_layers, 4);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.intermediate_size, 768);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.block_size, 64);
  EXPECT_EQ(c.attention_type, attn::AttentionType::BlockSparse);
  EXPECT_TRUE(c.tie_word_embeddings);

  const io::SafetensorsFile f = io::SafetensorsFile::open(kDir + "/model.safetensors");
  EXPECT_LE(f.file_size(), 30u * 1000 * 1000);
  EXPECT_FALSE(f.contains("cls.predictions.decoder.weight")) << "the tied decoder is stored twice";
  for (const io::TensorInfo& t : f.tensors()) EXPECT_EQ(t.dtype, io::DType::F16) << t.name;
  EXPECT_TRUE(fs::exists(kDir + "/MODEL_CARD.md"));
}

TEST(DefaultModel, FillMaskRunsOnHeldOutAusten) {
  const BigBirdModel model = BigBirdModel::load(kDir);
  ASSERT_TRUE(model.has_head(Head::MaskedLM));
  const FillMaskResult r = fill_mask(model, *model_tokenizer(), kHeldOutSentence, 5);
  ASSERT_EQ(r.masks.size(), 1u);
  const std::vector<MaskCandidate>& k = r.masks[0].candidates;
  ASSERT_EQ(k.size(), 5u);
  for (size_t i = 0; i < k.size(); ++i) {
    EXPECT_TRUE(k[i].probability > 0.0f && k[i].probability <= 1.0f) << k[i].probability;
    if (i > 0) {
      EXPECT_LE(k[i].probability, k[i - 1].probability);
    }
  }
  std::printf("  best guess: '%s' (%.1f%%)\n", k[0].text.c_str(), 100.0 * k[0].probability);
}

TEST(DefaultModel, CliFillMaskUsesItWhenNoModelIsGiven) {
  const bbtest::CliResult r = bbtest::run_cli({"fill-mask", "--text", kHeldOutSentence, "--json", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["masks"].size(), 1u);
  EXPECT_EQ(j["masks"][0]["candidates"].size(), 5u);
}

// MLM loss of `model` on the snippet's first 1024-token window, 15 % masked with a fixed seed.
double snippet_loss(train::TrainableBigBird& model, const tok::Tokenizer& tokenizer, const std::string& text,
                    attn::AttentionDecision* decision = nullptr) {
  train::MlmOptions o;
  o.max_length = 1024;
  const std::vector<train::Example> ex = train::mlm_examples_from_text(text, "persuasion-excerpt", tokenizer, o);
  const std::vector<const train::Example*> rows = {&ex.at(0)};
  train::TrainBatch batch = train::collate(rows, train::Task::MaskedLM, 0);
  train::apply_masking(batch, rows, train::MaskingPolicy::for_tokenizer(tokenizer, model.config().vocab_size, o), 1234);
  train::StepOptions so;
  so.train = false;
  const train::StepResult r = train::forward_backward(model, batch, so);
  if (decision) *decision = r.decision;
  EXPECT_GT(r.head.count, 100);
  return r.head.loss;
}

TEST(DefaultModel, HeldOutLossIsFarBelowTheRandomInitBaseline) {
  const std::string text = io::read_text_file(std::string(BIGBIRD_TEST_DATA) + "/default-model/persuasion-excerpt.txt");
  const auto tokenizer = model_tokenizer();
  train::TrainableBigBird trained = train::TrainableBigBird::load(kDir, Head::MaskedLM);
  train::TrainableBigBird random =
      train::TrainableBigBird::fresh(load_config(kDir + "/config.json"), Head::MaskedLM, 42, "random init");
  attn::AttentionDecision decision;
  const double trained_loss = snippet_loss(trained, *tokenizer, text, &decision);
  const double random_loss = snippet_loss(random, *tokenizer, text);
  std::printf("  held-out snippet MLM loss: trained %.3f, random init %.3f (ln V = %.3f); %s\n", trained_loss,
              random_loss, std::log(50358.0), decision.reason.c_str());
  EXPECT_EQ(decision.type, attn::AttentionType::BlockSparse);  // 1024 tokens: the sparse path, not the fallback
  EXPECT_NEAR(random_loss, std::log(50358.0), 0.5);
  EXPECT_LT(trained_loss, random_loss - 2.0);
}

}  // namespace
