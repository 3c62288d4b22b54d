// Whole-model gradients: against HF's golden gradients (g_grad_mlm_512: every parameter, relative
// error <= 1e-3), through the `bigbird grad` CLI contract, and by finite differences on tiny models
// for the MLM, classification and QA heads under every attention type, with dropout on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"
#include "tests/engine/support/golden.h"
#include "tests/engine/train/train_test_util.h"

using namespace bb;

namespace {

const std::string kGradCase = "hf-golden/g_grad_mlm_512";

train::TrainBatch golden_batch(const std::string& dir) {
  io::SafetensorsFile in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
  train::TrainBatch b;
  b.input_ids = in.read_i64("input_ids");
  b.attention_mask = in.read_i64("attention_mask");
  if (in.contains("labels")) b.labels = in.read_i64("labels");
  return b;
}

// max |got - want| / (max |want| + atol/1e-3): the error relative to the tensor's scale, where atol is
// the golden's own fp32 rounding error. Some gradients are zero by mathematics (the key bias shifts
// every score of a softmax row equally) and hold only that rounding noise (~1e-8).
double relative_error(const Tensor& got, const Tensor& want, double atol) {
  double scale = 0.0, worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(want[i])));
    const double e = std::fabs(double(got[i]) - double(want[i]));
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst / (scale + atol / 1e-3);
}

void expect_golden_gradients(const std::map<std::string, const Tensor*>& got, double loss) {
  const std::string dir = bbtest::data_path(kGradCase);
  io::SafetensorsFile want = io::SafetensorsFile::open(dir + "/grads.safetensors");
  io::SafetensorsFile out = io::SafetensorsFile::open(dir + "/outputs.safetensors");
  EXPECT_NEAR(loss, out.read_f32("loss")[0], 1e-4);
  ASSERT_EQ(got.size(), want.tensors().size());
  const nlohmann::json cj = bbtest::read_json(dir + "/case.json");
  const double atol = cj["tolerance"]["gradients"]["fp32_vs_fp64_max_abs_over_all_grads"].get<double>();
  ASSERT_GT(atol, 0.0);
  ASSERT_LT(atol, 1e-5);
  double worst = 0.0;
  for (const io::TensorInfo& info : want.tensors()) {
    const std::string name = info.name.substr(5);  // "grad."
    ASSERT_TRUE(got.count(name)) << name;
    const Tensor ref = want.read_f32(info.name);
    const Tensor& g = *got.at(name);
    ASSERT_EQ(shape_to_string(g.shape()), shape_to_string(ref.shape())) << name;
    const double e = relative_error(g, ref, atol);
    worst = std::max(worst, e);
    EXPECT_LE(e, 1e-3) << info.name;
  }
  std::printf("  worst relative gradient error over %zu tensors: %.3g\n", got.size(), worst);
}

TEST(ModelGradients, MatchHFGoldenForMaskedLM) {
  const std::string dir = bbtest::data_path(kGradCase);
  train::TrainableBigBird m = train::TrainableBigBird::load(dir, Head::MaskedLM);
  m.zero_grads();
  train::StepOptions opt;  // train mode, the config's dropout (0 in the golden), HF train-mode tables
  const train::StepResult r = train::forward_backward(m, golden_batch(dir), opt);
  EXPECT_EQ(r.decision.type, attn::AttentionType::BlockSparse);
  std::map<std::string, const Tensor*> got;
  for (const std::string& n : m.grads().names()) got[n] = &m.grads().get(n);
  expect_golden_gradients(got, r.head.loss);
  for (const char* n : {"bert.pooler.weight", "bert.pooler.bias"}) {
    const Tensor& g = m.grads().get(n);
    for (int64_t i = 0; i < g.numel(); ++i) ASSERT_EQ(g[i], 0.0f) << n;
  }
}

TEST(ModelGradients, CheckpointingRecomputesTheSameGradients) {
  const std::string dir = bbtest::data_path(kGradCase);
  train::TrainableBigBird a = train::TrainableBigBird::load(dir, Head::MaskedLM);
  train::TrainableBigBird b = train::TrainableBigBird::load(dir, Head::MaskedLM);
  train::StepOptions opt;
  opt.hidden_dropout = 0.1f;  // masks must replay identically in the recomputation
  a.zero_grads();
  b.zero_grads();
  const train::StepResult ra = train::forward_backward(a, golden_batch(dir), opt);
  opt.gradient_checkpointing = true;
  const train::StepResult rb = train::forward_backward(b, golden_batch(dir), opt);
  EXPECT_EQ(ra.head.loss, rb.head.loss);
  EXPECT_LT(rb.saved_activation_bytes * 3, ra.saved_activation_bytes);
  for (const std::string& n : a.grads().names()) {
    const Tensor &ga = a.grads().get(n), &gb = b.grads().get(n);
    for (int64_t i = 0; i < ga.numel(); ++i) ASSERT_EQ(ga[i], gb[i]) << n << "[" << i << "]";
  }
}

TEST(ModelGradients, GradCommandWritesTheContract) {
  const std::string dir = bbtest::data_path(kGradCase);
  const std::string out =
      (std::filesystem::temp_directory_path() / ("bb-grad-" + std::to_string(::getpid()) + ".safetensors")).string();
  const std::string cmd = std::string(BIGBIRD_CLI) + " grad --model " + dir + " --inputs " + dir +
                          "/inputs.safetensors --out " + out + " --threads 2 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  io::SafetensorsFile f = io::SafetensorsFile::open(out);
  std::map<std::string, Tensor> tensors;
  std::map<std::string, const Tensor*> got;
  for (const io::TensorInfo& info : f.tensors())
    if (info.name.rfind("grad.", 0) == 0) tensors[info.name.substr(5)] = f.read_f32(info.name);
  for (const auto& [n, t] : tensors) got[n] = &t;
  const io::TensorInfo* loss = f.find("loss");
  ASSERT_TRUE(loss);
  EXPECT_TRUE(loss->shape.empty());
  expect_golden_gradients(got, f.read_f32("loss")[0]);
  std::filesystem::remove(out);

  // Bad input is one clear error, not a crash.
  const std::string bad = std::string(BIGBIRD_CLI) + " grad --model " + dir + " --inputs " + dir +
                          "/inputs.safetensors --out " + out + " --head seq2seq 2> /dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

// Gradient accumulation: two micro-batches of 4 with grad_scale 1/2 give the gradient of one batch of 8
// (classification loss is a mean over examples, so equal-sized halves average to the whole).
TEST(ModelGradients, AccumulationEqualsTheWholeBatch) {
  train::TrainableBigBird whole = bbtest::tiny_model(Head::SequenceClassification, 21);
  train::TrainableBigBird parts = bbtest::tiny_model(Head::SequenceClassification, 21);
  const int64_t B = 8, L = 48;
  train::TrainBatch all;
  all.input_ids = I64Tensor({B, L});
  all.labels = I64Tensor({B});
  for (int64_t i = 0; i < B * L; ++i) all.input_ids[i] = 5 + int64_t(bbtest::mix64(uint64_t(i) * 3) % 35);
  for (int64_t b = 0; b < B; ++b) all.labels[b] = b % 3;
  train::StepOptions o;
  o.hidden_dropout = o.attention_dropout = o.head_dropout = 0.0f;
  whole.zero_grads();
  train::forward_backward(whole, all, o);
  parts.zero_grads();
  o.grad_scale = 0.5f;
  for (int64_t half = 0; half < 2; ++half) {
    train::TrainBatch part;
    part.input_ids = I64Tensor({B / 2, L});
    part.labels = I64Tensor({B / 2});
    std::copy_n(all.input_ids.data() + half * (B / 2) * L, (B / 2) * L, part.input_ids.data());
    std::copy_n(all.labels.data() + half * (B / 2), B / 2, part.labels.data());
    train::forward_backward(parts, part, o);
  }
  for (const std::string& n : whole.grads().names()) {
    if (whole.unused_parameters().count(n)) continue;
    EXPECT_LE(relative_error(parts.grads().get(n), whole.grads().get(n), 1e-9), 1e-5) << n;
  }
}

// ------------------------------------------------------------------------------------------------
// The training forward is the inference forward: every golden case, hidden states bit for bit.

struct ForwardCase {
  std::string name;
  Head head;
};

class TrainingForward : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(TrainingForward, EqualsInferenceBitForBit) {
  const ForwardCase& fc = GetParam();
  const std::string dir = bbtest::data_path("hf-golden/" + fc.name);
  const nlohmann::json cj = bbtest::read_json(dir + "/case.json");
  const attn::RandomBlocks mode = cj["mode"] == "eval" ? attn::RandomBlocks::HFEval : attn::RandomBlocks::HFTrain;
  BigBirdModel model = BigBirdModel::load(dir);
  train::TrainableBigBird m = train::TrainableBigBird::load(dir, fc.head == Head::None ? Head::MaskedLM : fc.head);
  train::TrainBatch batch = golden_batch(dir);

  EncoderInputs in;
  in.input_ids = batch.input_ids.clone();
  in.attention_mask = batch.attention_mask.clone();
  EncoderOptions eo;
  eo.head = fc.head;
  eo.random_blocks = mode;
  const EncoderOutputs ref = model.forward(in, eo);

  train::StepOptions so;
  so.train = false;
  so.random_blocks = mode;
  so.keep_logits = true;
  if (fc.head == Head::MaskedLM) batch.labels = batch.input_ids.clone();  // score every position
  const train::StepResult r = train::forward_backward(m, batch, so, true);
  EXPECT_EQ(r.decision.type, ref.decision.type);
  ASSERT_EQ(r.last_hidden_state.shape(), ref.last_hidden_state.shape());
  for (int64_t i = 0; i < ref.last_hidden_state.numel(); ++i)
    ASSERT_EQ(r.last_hidden_state[i], ref.last_hidden_state[i]) << fc.name << " hidden[" << i << "]";
  io::SafetensorsFile want = io::SafetensorsFile::open(dir + "/outputs.safetensors");
  bbtest::expect_close(fc.name + " hidden vs HF", r.last_hidden_state, want.read_f32("last_hidden_state"), 1e-4);
  if (fc.head == Head::MaskedLM)
    bbtest::expect_close(fc.name + " logits", r.head.logits,
                         std::move(ref.logits.clone()).reshaped(r.head.logits.shape()), 1e-5);
  if (fc.head == Head::SequenceClassification)
    bbtest::expect_close(fc.name + " logits", r.head.logits, ref.logits, 1e-6);
  if (fc.head == Head::QuestionAnswering) {
    bbtest::expect_close(fc.name + " start", r.head.start_logits, ref.start_logits, 1e-6);
    bbtest::expect_close(fc.name + " end", r.head.end_logits, ref.end_logits, 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Goldens, TrainingForward,
    ::testing::Values(ForwardCase{"a_full_256", Head::None}, ForwardCase{"b_sparse_train_512", Head::MaskedLM},
                      ForwardCase{"b_sparse_train_1024", Head::MaskedLM},
                      ForwardCase{"c_sparse_eval_512", Head::MaskedLM}, ForwardCase{"d_padded_batch_512", Head::None},
                      ForwardCase{"d_internal_pad_500", Head::None}, ForwardCase{"e_fallback_full_128", Head::None},
                      ForwardCase{"f_seqcls_512", Head::SequenceClassification},
                      ForwardCase{"f_qa_512", Head::QuestionAnswering}, ForwardCase{"g_grad_mlm_512", Head::MaskedLM}),
    [](const auto& info) { return info.param.name; });

// ------------------------------------------------------------------------------------------------
// Finite differences on tiny models. For every parameter tensor T and a random direction U, the
// directional derivative (L(T + εU) − L(T − εU)) / 2ε (4-point stencil, fp32 forward) must match
// Σ grad(T)·U. Dropout stays on: its masks are a fixed function of (seed, step), so L is smooth.

struct FdCase {
  std::string name;
  Head head;
  attn::AttentionType type;
  attn::RandomBlocks blocks;
  float dropout;
  bool checkpointing;
};

train::TrainBatch tiny_batch(Head head, int64_t L) {
  const int64_t B = 2;
  train::TrainBatch b;
  b.input_ids = I64Tensor({B, L});
  b.attention_mask = I64Tensor({B, L});
  for (int64_t i = 0; i < B * L; ++i) {
    b.input_ids[i] = 5 + int64_t(bbtest::mix64(uint64_t(i) + 77) % 35);
    b.attention_mask[i] = 1;
  }
  for (int64_t t = L - 10; t < L; ++t) {  // row 1: 10 padding tokens
    b.input_ids[L + t] = 0;
    b.attention_mask[L + t] = 0;
  }
  b.input_ids[0] = b.input_ids[L] = 1;  // [CLS]-like first token
  if (head == Head::MaskedLM) {
    b.labels = I64Tensor({B, L});
    b.labels.fill(-100);
    for (int64_t i = 0; i < B * L; i += 5)
      if (b.attention_mask[i]) b.labels[i] = int64_t(bbtest::mix64(uint64_t(i)) % 40);
  } else if (head == Head::SequenceClassification) {
    b.labels = I64Tensor::from({B}, {2, 0});
  } else {
    b.input_ids[6] = 3;  // sep_token_id: question lengths 7 and 10
    b.input_ids[L + 9] = 3;
    b.start_positions = I64Tensor::from({B}, {20, 0});
    b.end_positions = I64Tensor::from({B}, {23, 0});
  }
  return b;
}

double loss_of(train::TrainableBigBird& m, const train::TrainBatch& b, train::StepOptions o) {
  o.backward = false;
  return train::forward_backward(m, b, o).head.loss;
}

class FiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(FiniteDifferences, EveryParameterTensor) {
  const FdCase& fc = GetParam();
  train::TrainableBigBird m = bbtest::tiny_model(fc.head, 11);
  const int64_t L = fc.type == attn::AttentionType::OriginalFull ? 20 : 48;
  const train::TrainBatch batch = tiny_batch(fc.head, L);
  train::StepOptions o;
  o.attention_type = fc.type;
  o.random_blocks = fc.blocks;
  o.hidden_dropout = o.attention_dropout = o.head_dropout = fc.dropout;
  o.dropout_seed = 99;
  o.gradient_checkpointing = fc.checkpointing;
  m.zero_grads();
  const train::StepResult r = train::forward_backward(m, batch, o);
  ASSERT_EQ(r.decision.type, fc.type);
  ASSERT_GT(r.head.count, 0);

  const float eps = 1e-2f;
  int checked = 0;
  double worst = 0.0;
  std::string worst_name;
  for (const std::string& name : m.params().names()) {
    if (m.unused_parameters().count(name)) continue;
    Tensor& p = m.params().mutable_get(name);
    const Tensor& g = m.grads().get(name);
    const uint64_t seed = bbtest::mix64(std::hash<std::string>()(name));
    // torch gives the padding row of the word embeddings no gradient (padding_idx) although padded
    // positions can move the loss (QA scores every position): leave that row out of the direction.
    const bool word = name == m.prefix() + "embeddings.word_embeddings.weight";
    const int64_t H = m.config().hidden_size, pad = m.config().pad_token_id;
    auto dir = [&](int64_t i) { return word && i / H == pad ? 0.0f : bbtest::uniform_pm1(seed, uint64_t(i)); };
    double analytic = 0.0;
    for (int64_t i = 0; i < p.numel(); ++i) analytic += double(g[i]) * dir(i);
    const Tensor keep = p.clone();
    auto shifted = [&](float s) {
      for (int64_t i = 0; i < p.numel(); ++i) p[i] = keep[i] + s * eps * dir(i);
      return loss_of(m, batch, o);
    };
    const double numeric = (-shifted(2) + 8 * shifted(1) - 8 * shifted(-1) + shifted(-2)) / (12.0 * eps);
    std::copy_n(keep.data(), keep.numel(), p.data());
    // 1% of the derivative, plus 1e-4 for the fp32 forward's rounding noise (about 2e-5 on the key
    // biases, whose exact gradient is zero).
    const double err = std::fabs(numeric - analytic) / (std::fabs(analytic) + 1e-2);
    if (err > worst) {
      worst = err;
      worst_name = name;
    }
    EXPECT_LE(err, 1e-2) << name << ": finite differences " << numeric << ", backward " << analytic;
    ++checked;
  }
  std::printf("  %s: %d tensors, worst relative error %.2g (%s)\n", fc.name.c_str(), checked, worst,
              worst_name.c_str());
  EXPECT_GE(checked, 30);
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, FiniteDifferences,
    ::testing::Values(FdCase{"mlm_block_sparse", Head::MaskedLM, attn::AttentionType::BlockSparse,
                             attn::RandomBlocks::HFTrain, 0.0f, false},
                      FdCase{"mlm_block_sparse_dropout_checkpointed", Head::MaskedLM, attn::AttentionType::BlockSparse,
                             attn::RandomBlocks::HFTrain, 0.1f, true},
                      FdCase{"mlm_block_sparse_hf_eval_tables", Head::MaskedLM, attn::AttentionType::BlockSparse,
                             attn::RandomBlocks::HFEval, 0.0f, false},
                      FdCase{"mlm_full_attention_dropout", Head::MaskedLM, attn::AttentionType::OriginalFull,
                             attn::RandomBlocks::HFTrain, 0.1f, false},
                      FdCase{"mlm_simulated_sparse", Head::MaskedLM, attn::AttentionType::SimulatedSparse,
                             attn::RandomBlocks::HFTrain, 0.0f, false},
                      FdCase{"cls_block_sparse_dropout", Head::SequenceClassification, attn::AttentionType::BlockSparse,
                             attn::RandomBlocks::HFTrain, 0.1f, false},
                      FdCase{"cls_full_attention", Head::SequenceClassification, attn::AttentionType::OriginalFull,
                             attn::RandomBlocks::HFTrain, 0.0f, false},
                      FdCase{"qa_block_sparse_dropout", Head::QuestionAnswering, attn::AttentionType::BlockSparse,
                             attn::RandomBlocks::HFTrain, 0.1f, false},
                      FdCase{"qa_full_attention", Head::QuestionAnswering, attn::AttentionType::OriginalFull,
                             attn::RandomBlocks::HFTrain, 0.0f, true}),
    [](const auto& info) { return info.param.name; });

}  // namespace
