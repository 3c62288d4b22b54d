// BigBird-Pegasus training: the decoder attention op against an fp64 reference (forward and finite
// differences), the training forward against inference and HF's golden logits, whole-model gradients
// by finite differences on tiny models (block_sparse with internal padding, original_full with
// biases), and against PyTorch autograd on the golden model (tests/data/pegasus-grad).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>

#include <unistd.h>

#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "engine/train/dense_attention_train.h"
#include "engine/train/pegasus_train_step.h"
#include "engine/train/trainable_pegasus.h"
#include "tests/engine/support/golden.h"
#include "tests/engine/train/grad_check.h"
#include "tests/engine/train/pegasus_test_util.h"

using namespace bb;
using Vec = std::vector<double>;

namespace {

// ------------------------------------------------------------------------- decoder attention op

struct DenseShape {
  int Tq, Tk, heads, d;
  bool causal;
};

Vec dense_ref(const Vec& q, const Vec& k, const Vec& v, const DenseShape& s, const std::vector<float>& mask) {
  const int H = s.heads * s.d;
  Vec ctx(size_t(s.Tq * H), 0.0);
  for (int h = 0; h < s.heads; ++h)
    for (int i = 0; i < s.Tq; ++i) {
      std::vector<double> sc(size_t(s.Tk));
      double mx = -1e300;
      for (int j = 0; j < s.Tk; ++j) {
        double dotp = 0;
        for (int t = 0; t < s.d; ++t) dotp += q[size_t(i * H + h * s.d + t)] * k[size_t(j * H + h * s.d + t)];
        const bool masked = (!mask.empty() && mask[size_t(j)] == 0.0f) || (s.causal && j > i);
        sc[size_t(j)] = dotp / std::sqrt(double(s.d)) + (masked ? double(std::numeric_limits<float>::lowest()) : 0.0);
        mx = std::max(mx, sc[size_t(j)]);
      }
      double sum = 0;
      for (double& x : sc) sum += (x = std::exp(x - mx));
      for (int j = 0; j < s.Tk; ++j)
        for (int t = 0; t < s.d; ++t) ctx[size_t(i * H + h * s.d + t)] += sc[size_t(j)] / sum * v[size_t(j * H + h * s.d + t)];
    }
  return ctx;
}

void check_dense(const DenseShape& s, const std::vector<float>& mask) {
  const int H = s.heads * s.d, nq = s.Tq * H, nk = s.Tk * H;
  const Vec q = bbtest::random_vector(size_t(nq), 31), k = bbtest::random_vector(size_t(nk), 32);
  const Vec v = bbtest::random_vector(size_t(nk), 33), w = bbtest::random_vector(size_t(nq), 34);
  std::vector<float> qf = bbtest::to_float(q), kf = bbtest::to_float(k), vf = bbtest::to_float(v), ctx(static_cast<size_t>(nq));
  train::DenseAttentionTrainArgs a;
  a.q = qf.data();
  a.k = kf.data();
  a.v = vf.data();
  a.ldq = a.ldkv = a.ldc = H;
  a.q_len = s.Tq;
  a.k_len = s.Tk;
  a.heads = s.heads;
  a.head_dim = s.d;
  a.key_mask = mask.empty() ? nullptr : mask.data();
  a.causal = s.causal;
  train::dense_attention_train_forward(a, ctx.data());
  const Vec want = dense_ref(q, k, v, s, mask);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(ctx[i], want[i], 1e-5) << "ctx[" << i << "]";
  std::vector<float> dctx = bbtest::to_float(w), dq(static_cast<size_t>(nq)), dk(static_cast<size_t>(nk)), dv(static_cast<size_t>(nk));
  train::dense_attention_train_backward(a, dctx.data(), dq.data(), dk.data(), dv.data());
  auto f = [&](const Vec& qq, const Vec& kk, const Vec& vv) { return bbtest::dot(w, dense_ref(qq, kk, vv, s, mask)); };
  bbtest::expect_gradient("dq", dq, bbtest::numeric_gradient([&](const Vec& x) { return f(x, k, v); }, q));
  bbtest::expect_gradient("dk", dk, bbtest::numeric_gradient([&](const Vec& x) { return f(q, x, v); }, k));
  bbtest::expect_gradient("dv", dv, bbtest::numeric_gradient([&](const Vec& x) { return f(q, k, x); }, v));
}

TEST(PegasusOpGradients, CausalSelfAttention) { check_dense({7, 7, 2, 3, true}, {}); }

TEST(PegasusOpGradients, CrossAttentionWithKeyMask) {
  std::vector<float> mask(11, 1.0f);
  mask[3] = mask[9] = mask[10] = 0.0f;
  check_dense({5, 11, 2, 3, false}, mask);
}

// ------------------------------------------------------------------------- training forward

const std::string& golden_dir() {
  static const std::string d = bbtest::data_path("hf-golden/h_pegasus_512");
  return d;
}

TEST(PegasusTraining, ForwardMatchesInferenceAndHFGolden) {
  io::SafetensorsFile in = io::SafetensorsFile::open(golden_dir() + "/inputs.safetensors");
  io::SafetensorsFile want = io::SafetensorsFile::open(golden_dir() + "/outputs.safetensors");
  train::TrainablePegasus m = train::TrainablePegasus::load(golden_dir());
  train::Seq2SeqTrainBatch b;
  b.input_ids = in.read_i64("input_ids");
  b.attention_mask = in.read_i64("attention_mask");
  b.decoder_input_ids = in.read_i64("decoder_input_ids");
  train::Seq2SeqStepOptions o;
  o.backward = false;
  o.keep_logits = true;
  const train::Seq2SeqStepResult r = train::pegasus_forward_backward(m, b, o);
  EXPECT_EQ(r.decision.type, attn::AttentionType::BlockSparse);
  bbtest::expect_close("logits vs HF (train mode)", r.logits, want.read_f32("logits"), 1e-4);
  bbtest::expect_close("encoder vs HF", r.encoder_hidden, want.read_f32("encoder_last_hidden_state"), 1e-4);

  PegasusModel model = PegasusModel::load(golden_dir());
  Seq2SeqInputs si;
  si.input_ids = b.input_ids.clone();
  si.attention_mask = b.attention_mask.clone();
  si.decoder_input_ids = b.decoder_input_ids.clone();
  PegasusEncodeOptions eo;
  eo.random_blocks = attn::RandomBlocks::HFTrain;
  const Seq2SeqOutputs ref = model.forward(si, eo);
  for (int64_t i = 0; i < ref.encoder.hidden.numel(); ++i)  // the same ops in the same order
    ASSERT_EQ(r.encoder_hidden[i], ref.encoder.hidden[i]) << "encoder hidden[" << i << "]";
  bbtest::expect_close("logits vs inference", r.logits, ref.logits, 1e-5);
}

// ------------------------------------------------------------------------- finite differences

struct FdCase {
  std::string name;
  attn::AttentionType type;
  bool use_bias;
  bool explicit_decoder_ids;
  float dropout;  // masks are a fixed function of (seed, step): the loss stays smooth
};

// Two rows; row 1 ends in 6 padding tokens. Labels hold -100 (ignored, and shifted in as pad).
train::Seq2SeqTrainBatch tiny_seq2seq_batch(int64_t L, int64_t T, bool explicit_decoder_ids) {
  const int64_t B = 2;
  train::Seq2SeqTrainBatch b;
  b.input_ids = I64Tensor({B, L});
  b.attention_mask = I64Tensor({B, L});
  for (int64_t i = 0; i < B * L; ++i) {
    b.input_ids[i] = 3 + int64_t(bbtest::mix64(uint64_t(i) + 5) % 37);
    b.attention_mask[i] = 1;
  }
  for (int64_t t = L - 6; t < L; ++t) {
    b.input_ids[L + t] = 0;
    b.attention_mask[L + t] = 0;
  }
  b.labels = I64Tensor({B, T});
  for (int64_t i = 0; i < B * T; ++i) b.labels[i] = 3 + int64_t(bbtest::mix64(uint64_t(i) + 99) % 37);
  b.labels[T - 1] = 1;  // eos
  b.labels[T + 2] = b.labels[2 * T - 1] = -100;
  if (explicit_decoder_ids) {
    b.decoder_input_ids = I64Tensor({B, T});
    for (int64_t i = 0; i < B * T; ++i) b.decoder_input_ids[i] = 3 + int64_t(bbtest::mix64(uint64_t(i) + 7) % 37);
  }
  return b;
}

class PegasusFiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(PegasusFiniteDifferences, EveryParameterTensor) {
  const FdCase& fc = GetParam();
  train::TrainablePegasus m = bbtest::tiny_pegasus(fc.use_bias, 17);
  // block_sparse needs more than (5 + 2r)·b = 28 tokens; 46 is padded to 48 inside the encoder.
  const int64_t L = fc.type == attn::AttentionType::BlockSparse ? 46 : 20;
  const train::Seq2SeqTrainBatch batch = tiny_seq2seq_batch(L, 7, fc.explicit_decoder_ids);
  train::Seq2SeqStepOptions o;
  o.attention_type = fc.type;
  o.dropout = fc.dropout;
  o.dropout_seed = 99;
  m.zero_grads();
  const train::Seq2SeqStepResult r = train::pegasus_forward_backward(m, batch, o);
  ASSERT_EQ(r.decision.type, fc.type);
  ASSERT_EQ(r.count, 12);
  o.backward = false;
  if (fc.dropout > 0.0f) {  // the masks are really applied
    train::Seq2SeqStepOptions off = o;
    off.dropout = 0.0f;
    EXPECT_GT(std::fabs(train::pegasus_forward_backward(m, batch, off).loss - r.loss), 1e-3);
  }

  const int64_t D = m.config().hidden_size, pad = m.config().pad_token_id;
  int checked = 0;
  double worst = 0.0;
  std::string worst_name;
  for (const std::string& name : m.params().names()) {
    if (train::TrainablePegasus::buffers().count(name)) continue;  // final_logits_bias: an HF buffer
    Tensor& p = m.params().mutable_get(name);
    const Tensor& g = m.grads().get(name);
    const uint64_t seed = bbtest::mix64(std::hash<std::string>()(name));
    // The pad row of the word embeddings gets no gradient from its lookups (torch padding_idx),
    // although padded positions move the loss: leave that row out of the direction.
    const bool word = name == "model.shared.weight";
    // The word embeddings enter scaled by sqrt(d) = 4: the same relative step is 4x smaller.
    const float eps = word ? 2.5e-3f : 1e-2f;
    auto dir = [&](int64_t i) { return word && i / D == pad ? 0.0f : bbtest::uniform_pm1(seed, uint64_t(i)); };
    double analytic = 0.0;
    for (int64_t i = 0; i < p.numel(); ++i) analytic += double(g[i]) * dir(i);
    const Tensor keep = p.clone();
    auto shifted = [&](float s) {
      for (int64_t i = 0; i < p.numel(); ++i) p[i] = keep[i] + s * eps * dir(i);
      return train::pegasus_forward_backward(m, batch, o).loss;
    };
    const double numeric = (-shifted(2) + 8 * shifted(1) - 8 * shifted(-1) + shifted(-2)) / (12.0 * eps);
    std::copy_n(keep.data(), keep.numel(), p.data());
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
  EXPECT_GE(checked, fc.use_bias ? 80 : 50);
}

INSTANTIATE_TEST_SUITE_P(
    TinyPegasus, PegasusFiniteDifferences,
    ::testing::Values(FdCase{"block_sparse_padded", attn::AttentionType::BlockSparse, false, false, 0.0f},
                      FdCase{"full_attention_biases_decoder_ids", attn::AttentionType::OriginalFull, true, true, 0.0f},
                      FdCase{"block_sparse_biases_decoder_ids", attn::AttentionType::BlockSparse, true, true, 0.0f},
                      FdCase{"block_sparse_padded_dropout", attn::AttentionType::BlockSparse, false, false, 0.1f}),
    [](const auto& info) { return info.param.name; });

// ------------------------------------------------------------------------- PyTorch autograd golden

const std::string kGradCase = "pegasus-grad";

train::Seq2SeqTrainBatch grad_case_batch() {
  io::SafetensorsFile in = io::SafetensorsFile::open(bbtest::data_path(kGradCase) + "/inputs.safetensors");
  train::Seq2SeqTrainBatch b;
  b.input_ids = in.read_i64("input_ids");
  b.attention_mask = in.read_i64("attention_mask");
  b.labels = in.read_i64("labels");
  return b;
}

// max |got - want| / (max |want| + atol/1e-3), atol = the reference's own fp32 rounding error (as
// tst_model_gradients). Position tables: the golden stores only the rows the inputs reach; the
// remaining rows of ours must be exactly zero.
void expect_golden_gradients(const std::map<std::string, const Tensor*>& got, double loss) {
  const std::string dir = bbtest::data_path(kGradCase);
  io::SafetensorsFile want = io::SafetensorsFile::open(dir + "/grads.safetensors");
  const nlohmann::json cj = bbtest::read_json(dir + "/case.json");
  EXPECT_NEAR(loss, cj["loss_fp64"].get<double>(), 1e-4 * std::fabs(cj["loss_fp64"].get<double>()));
  const double atol = cj["tolerance"]["fp32_vs_fp64_max_abs_over_all_grads"].get<double>();
  ASSERT_GT(atol, 0.0);
  ASSERT_LT(atol, 1e-5);
  ASSERT_EQ(got.size(), want.tensors().size());
  double worst = 0.0;
  for (const io::TensorInfo& info : want.tensors()) {
    const std::string name = info.name.substr(5);  // "grad."
    ASSERT_TRUE(got.count(name)) << name;
    const Tensor ref = want.read_f32(info.name);
    const Tensor& g = *got.at(name);
    ASSERT_EQ(g.rank(), ref.rank()) << name;
    const int64_t n = ref.numel();
    ASSERT_LE(n, g.numel()) << name;
    if (n < g.numel()) {  // truncated position table
      ASSERT_EQ(g.dim(1), ref.dim(1)) << name;
      for (int64_t i = n; i < g.numel(); ++i) ASSERT_EQ(g[i], 0.0f) << name << "[" << i << "]";
    }
    double scale = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      scale = std::max(scale, std::fabs(double(ref[i])));
      const double e = std::fabs(double(g[i]) - double(ref[i]));
      err = std::isnan(e) ? INFINITY : std::max(err, e);
    }
    const double rel = err / (scale + atol / 1e-3);
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 1e-3) << info.name;
  }
  std::printf("  worst relative gradient error over %zu tensors: %.3g\n", got.size(), worst);
}

TEST(PegasusTraining, GradientsMatchPyTorchAutogradGolden) {
  train::TrainablePegasus m = train::TrainablePegasus::load(golden_dir());
  m.zero_grads();
  const train::Seq2SeqStepResult r = train::pegasus_forward_backward(m, grad_case_batch(), {});
  EXPECT_EQ(r.decision.type, attn::AttentionType::BlockSparse);
  EXPECT_EQ(r.count, 11);
  std::map<std::string, const Tensor*> got;
  for (const std::string& n : m.grads().names())
    if (!train::TrainablePegasus::buffers().count(n)) got[n] = &m.grads().get(n);
  expect_golden_gradients(got, r.loss);
  const Tensor& bias = m.grads().get("final_logits_bias");  // an HF buffer: no gradient
  for (int64_t i = 0; i < bias.numel(); ++i) ASSERT_EQ(bias[i], 0.0f);
}

TEST(PegasusTraining, GradCommandWritesTheContract) {
  const std::string out =
      (std::filesystem::temp_directory_path() / ("bb-pgrad-" + std::to_string(::getpid()) + ".safetensors")).string();
  const std::string inputs = bbtest::data_path(kGradCase) + "/inputs.safetensors";
  const std::string cmd = std::string(BIGBIRD_CLI) + " grad --model " + golden_dir() + " --inputs " + inputs +
                          " --out " + out + " --head seq2seq --threads 2 > /dev/null";
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
  // The head is found from config.json too; bad input is one clear error.
  const std::string guess = std::string(BIGBIRD_CLI) + " grad --model " + golden_dir() + " --inputs " + inputs +
                            " --out " + out + " > /dev/null";
  EXPECT_EQ(std::system(guess.c_str()), 0) << guess;
  std::filesystem::remove(out);
  const std::string bad = std::string(BIGBIRD_CLI) + " grad --model " + golden_dir() + " --inputs " + golden_dir() +
                          "/inputs.safetensors --out " + out + " --head seq2seq 2> /dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);  // no labels
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(PegasusTraining, BadInputIsOneClearError) {
  train::TrainablePegasus m = bbtest::tiny_pegasus(false, 3);
  train::Seq2SeqTrainBatch b = tiny_seq2seq_batch(20, 5, false);
  b.labels[1] = 40;
  EXPECT_THROW(train::pegasus_forward_backward(m, b, {}), Error);
  b = tiny_seq2seq_batch(20, 5, false);
  b.labels = I64Tensor();
  EXPECT_THROW(train::pegasus_forward_backward(m, b, {}), Error);
  b = tiny_seq2seq_batch(70, 5, false);
  EXPECT_THROW(train::pegasus_forward_backward(m, b, {}), Error);  // longer than 64 positions
}

}  // namespace
