// BigBird-Pegasus parity with the HF golden h_pegasus_512 (train-mode and eval-mode logits, encoder
// output, random-block tables, the decoder cache after 11 tokens and one incremental step), and the
// incremental decoder against the full teacher-forced pass (cached == uncached).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "engine/io/checkpoint_loader.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "tests/engine/io/tf_bundle_test_writer.h"
#include "tests/engine/support/golden.h"

using namespace bb;

namespace {

constexpr double kTol = 1e-4;

const std::string& case_dir() {
  static const std::string d = bbtest::data_path("hf-golden/h_pegasus_512");
  return d;
}

struct Golden {
  PegasusModel model = PegasusModel::load(case_dir());
  io::SafetensorsFile in = io::SafetensorsFile::open(case_dir() + "/inputs.safetensors");
  io::SafetensorsFile want = io::SafetensorsFile::open(case_dir() + "/outputs.safetensors");
};

Golden& golden() {
  static Golden g;
  return g;
}

// Our self-attention cache rows are [rows, capacity, heads*d]; HF past tensors are [batch, heads, len, d].
Tensor cache_as_hf(const Tensor& t, int64_t len, int heads) {
  const int64_t N = t.dim(0), cap = t.dim(1), D = t.dim(2), d = D / heads;
  Tensor out({N, heads, len, d});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < len; ++i)
        for (int64_t j = 0; j < d; ++j) out[((n * heads + h) * len + i) * d + j] = t[(n * cap + i) * D + h * d + j];
  return out;
}

Tensor slice_step(const Tensor& logits, int64_t t) {  // [1, T, V] -> [1, 1, V]
  const int64_t V = logits.dim(2);
  Tensor out({1, 1, V});
  std::copy_n(logits.data() + t * V, V, out.data());
  return out;
}

}  // namespace

TEST(PegasusParity, TrainModeLogitsEncoderAndRandomTables) {
  Golden& g = golden();
  Seq2SeqInputs in;
  in.input_ids = g.in.read_i64("input_ids");
  in.attention_mask = g.in.read_i64("attention_mask");
  in.decoder_input_ids = g.in.read_i64("decoder_input_ids");
  PegasusEncodeOptions opt;
  opt.random_blocks = attn::RandomBlocks::HFTrain;
  Seq2SeqOutputs out = g.model.forward(in, opt);
  EXPECT_EQ(out.encoder.decision.type, attn::AttentionType::BlockSparse);
  bbtest::expect_close("encoder_last_hidden_state", out.encoder.hidden, g.want.read_f32("encoder_last_hidden_state"), kTol);
  bbtest::expect_close("logits (train)", out.logits, g.want.read_f32("logits"), kTol);
  ASSERT_EQ(out.encoder.random_tables.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    const I32Tensor ref = g.want.read_i32("rand_attn.encoder_layer" + std::to_string(l));
    const attn::RandomTable& t = out.encoder.random_tables[l];
    EXPECT_EQ(Shape({t.heads, t.rows, t.r}), ref.shape());
    EXPECT_EQ(t.index, std::vector<int32_t>(ref.data(), ref.data() + ref.numel())) << "layer " << l;
  }
}

TEST(PegasusParity, EvalModeLogits) {
  Golden& g = golden();
  Seq2SeqInputs in;
  in.input_ids = g.in.read_i64("input_ids");
  in.attention_mask = g.in.read_i64("attention_mask");
  in.decoder_input_ids = g.in.read_i64("decoder_input_ids");
  PegasusEncodeOptions opt;
  opt.random_blocks = attn::RandomBlocks::HFEval;
  Seq2SeqOutputs out = g.model.forward(in, opt);
  bbtest::expect_close("logits_eval", out.logits, g.want.read_f32("logits_eval"), kTol);
  // The eval and train tables differ, so the test can tell the modes apart.
  const Tensor train = g.want.read_f32("logits");
  EXPECT_GT(bbtest::max_abs_diff(out.logits.data(), train.data(), train.numel()).max_abs, 1e-3);
}

TEST(PegasusParity, IncrementalCacheMatchesHfPastAndStepLogits) {
  Golden& g = golden();
  const I64Tensor ids = g.in.read_i64("input_ids"), mask = g.in.read_i64("attention_mask");
  const I64Tensor dec = g.in.read_i64("decoder_input_ids");
  const int64_t T = dec.dim(1);
  PegasusEncodeOptions opt;
  opt.random_blocks = attn::RandomBlocks::HFTrain;
  PegasusEncoding enc = g.model.encode(ids, mask, opt);
  PegasusCache cache = g.model.start_decoder(enc, {0}, T);
  const Tensor full = g.want.read_f32("logits");
  // Token by token: every step's logits equal the teacher-forced logits at that position.
  for (int64_t t = 0; t < T - 1; ++t) {
    Tensor step = g.model.decode(cache, dec.data() + t, 1, nullptr, false);
    bbtest::expect_close("step " + std::to_string(t), std::move(step).reshaped({1, 1, full.dim(2)}), slice_step(full, t), kTol);
  }
  const int heads = g.model.config().decoder_attention_heads;
  for (int l = 0; l < g.model.config().decoder_layers; ++l) {
    const std::string p = "past.layer" + std::to_string(l) + ".";
    bbtest::expect_close(p + "self_key", cache_as_hf(cache.self_k[size_t(l)], T - 1, heads), g.want.read_f32(p + "self_key"), kTol);
    bbtest::expect_close(p + "self_value", cache_as_hf(cache.self_v[size_t(l)], T - 1, heads), g.want.read_f32(p + "self_value"), kTol);
    bbtest::expect_close(p + "cross_key", cache.cross_k[size_t(l)], g.want.read_f32(p + "cross_key"), kTol);  // same layout
    bbtest::expect_close(p + "cross_value", cache.cross_v[size_t(l)], g.want.read_f32(p + "cross_value"), kTol);
  }
  Tensor last = g.model.decode(cache, dec.data() + T - 1, 1, nullptr, false);
  bbtest::expect_close("incremental.step_logits", std::move(last).reshaped({1, 1, full.dim(2)}),
                       g.want.read_f32("incremental.step_logits"), kTol);
}

TEST(PegasusParity, CachedEqualsUncachedWithBeamReorder) {
  // Three rows on one encoder row, fed different prefixes; reordering rows mid-way must give each row
  // exactly the logits of an uncached pass over the prefix it ends up with.
  Golden& g = golden();
  const I64Tensor ids = g.in.read_i64("input_ids"), mask = g.in.read_i64("attention_mask");
  PegasusEncoding enc = g.model.encode(ids, mask);
  const std::vector<std::vector<int64_t>> prefixes = {{2, 17, 40, 9}, {2, 33, 12, 80}, {2, 5, 5, 101}};
  PegasusCache cache = g.model.start_decoder(enc, {0, 0, 0}, 8);
  for (int t = 0; t < 2; ++t) {
    const int64_t step[3] = {prefixes[0][size_t(t)], prefixes[1][size_t(t)], prefixes[2][size_t(t)]};
    g.model.decode(cache, step, 1, nullptr, false);
  }
  reorder_pegasus_cache(cache, {2, 0, 0});  // rows now continue prefixes 2, 0, 0
  const std::vector<std::vector<int64_t>> now = {{2, 5, 77, 3}, {2, 17, 40, 9}, {2, 17, 91, 60}};
  Tensor got;
  for (int t = 2; t < 4; ++t) {
    const int64_t step[3] = {now[0][size_t(t)], now[1][size_t(t)], now[2][size_t(t)]};
    got = g.model.decode(cache, step, 1, nullptr, false);
  }
  const int64_t V = g.model.config().vocab_size;
  for (int r = 0; r < 3; ++r) {
    PegasusCache fresh = g.model.start_decoder(enc, {0}, 4);
    Tensor ref = g.model.decode(fresh, now[size_t(r)].data(), 4, nullptr, false);
    const double d = bbtest::max_abs_diff(got.data() + r * V, ref.data(), V).max_abs;
    EXPECT_LE(d, 1e-5) << "row " << r;
  }
}

TEST(PegasusParity, ReleasingEncoderWeightsChangesNothing) {
  Golden& g = golden();
  Seq2SeqInputs in;
  in.input_ids = g.in.read_i64("input_ids");
  in.attention_mask = g.in.read_i64("attention_mask");
  in.decoder_input_ids = g.in.read_i64("decoder_input_ids");
  const Tensor before = g.model.forward(in).logits;
  g.model.release_encoder_weights();  // mapped pages dropped, re-read from the file on the next use
  const Tensor after = g.model.forward(in).logits;
  EXPECT_EQ(bbtest::max_abs_diff(before.data(), after.data(), before.numel()).max_abs, 0.0);
  bbtest::expect_close("logits_eval after release", after, g.want.read_f32("logits_eval"), kTol);
}

TEST(PegasusParity, RejectsBadInputs) {
  Golden& g = golden();
  Seq2SeqInputs in;
  in.input_ids = I64Tensor::from({1, 3}, {5, 6, 500});
  EXPECT_THROW(g.model.forward(in), Error);
  in.input_ids = I64Tensor({1, 0});
  EXPECT_THROW(g.model.forward(in), Error);
  in.input_ids = I64Tensor::from({1, 3}, {5, 6, 7});
  in.attention_mask = I64Tensor::from({1, 3}, {1, 2, 1});
  EXPECT_THROW(g.model.forward(in), Error);
  in.attention_mask = I64Tensor();
  in.decoder_input_ids = I64Tensor::from({1, 2}, {2, -1});
  EXPECT_THROW(g.model.forward(in), Error);
  in.input_ids = I64Tensor({1, 1100});  // longer than max_position_embeddings (1024)
  in.decoder_input_ids = I64Tensor();
  EXPECT_THROW(g.model.forward(in), Error);
}

namespace {

// The original TF variable names of bigbird-spec.md §8.3, built from the HF tensors (kernels transposed).
ParameterStore to_tf_names(const ParameterStore& hf, const ModelConfig& c) {
  ParameterStore tf;
  auto T = [](const Tensor& t) {
    Tensor out({t.dim(1), t.dim(0)});
    for (int64_t i = 0; i < t.dim(0); ++i)
      for (int64_t j = 0; j < t.dim(1); ++j) out[j * t.dim(0) + i] = t[i * t.dim(1) + j];
    return out;
  };
  tf.set("pegasus/embeddings/word_embeddings", hf.get("model.shared.weight").clone());
  tf.set("pegasus/embeddings/position_embeddings", hf.get("model.encoder.embed_positions.weight").clone());
  auto ln = [&](const std::string& tf_scope, const std::string& hf_name) {
    tf.set(tf_scope + "/gamma", hf.get(hf_name + ".weight").clone());
    tf.set(tf_scope + "/beta", hf.get(hf_name + ".bias").clone());
  };
  auto dense = [&](const std::string& tf_scope, const std::string& hf_name, bool bias) {
    tf.set(tf_scope + "/kernel", T(hf.get(hf_name + ".weight")));
    if (bias) tf.set(tf_scope + "/bias", hf.get(hf_name + ".bias").clone());
  };
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string t = "pegasus/encoder/layer_" + std::to_string(l) + "/", h = "model.encoder.layers." + std::to_string(l) + ".";
    ln(t + "attention/self/LayerNorm", h + "self_attn_layer_norm");
    for (const char* p : {"query", "key", "value"}) dense(t + "attention/self/" + p, h + "self_attn.self." + p, false);
    dense(t + "attention/output/dense", h + "self_attn.output", false);
    ln(t + "intermediate/LayerNorm", h + "final_layer_norm");
    dense(t + "intermediate/dense", h + "fc1", true);
    dense(t + "output/dense", h + "fc2", true);
  }
  ln("pegasus/encoder/LayerNorm", "model.encoder.layernorm_embedding");
  for (int l = 0; l < c.decoder_layers; ++l) {
    const std::string t = "pegasus/decoder/layer_" + std::to_string(l) + "/", h = "model.decoder.layers." + std::to_string(l) + ".";
    ln(t + "attention/self/LayerNorm", h + "self_attn_layer_norm");
    dense(t + "attention/self/query", h + "self_attn.q_proj", false);
    dense(t + "attention/self/key", h + "self_attn.k_proj", false);
    dense(t + "attention/self/value", h + "self_attn.v_proj", false);
    dense(t + "attention/output/dense", h + "self_attn.out_proj", false);
    ln(t + "attention/encdec/LayerNorm", h + "encoder_attn_layer_norm");
    dense(t + "attention/encdec/query", h + "encoder_attn.q_proj", false);
    dense(t + "attention/encdec/key", h + "encoder_attn.k_proj", false);
    dense(t + "attention/encdec/value", h + "encoder_attn.v_proj", false);
    dense(t + "attention/encdec_output/dense", h + "encoder_attn.out_proj", false);
    ln(t + "intermediate/LayerNorm", h + "final_layer_norm");
    dense(t + "intermediate/dense", h + "fc1", true);
    dense(t + "output/dense", h + "fc2", true);
  }
  ln("pegasus/decoder/LayerNorm", "model.decoder.layernorm_embedding");
  tf.set("pegasus/decoder/layer_0/attention/self/query/bias", Tensor({c.hidden_size}));  // ignored, as HF's converter does
  tf.set("global_step", Tensor({1}));
  return tf;
}

}  // namespace

// The original TF checkpoint layout end to end: the golden's weights renamed to TF variables
// (pegasus/encoder/layer_0/..., [in, out] kernels), written as a real tensor bundle next to the
// config, then opened by PegasusModel::load through the generic checkpoint loader.
TEST(PegasusParity, OriginalTfCheckpointLoadsToTheSameModel) {
  Golden& g = golden();
  const ModelConfig& c = g.model.config();
  // TF keeps one position table for encoder and decoder (HF copies it twice); the golden's two random
  // tables differ, so compare against the HF-named model with the encoder table in both places.
  ParameterStore hf;
  for (const std::string& n : g.model.parameters().names()) hf.set(n, g.model.parameters().get(n).clone());
  hf.set("model.decoder.embed_positions.weight", hf.get("model.encoder.embed_positions.weight").clone());
  ParameterStore tf = to_tf_names(hf, c);
  tf.set("pegasus/encoder/layer_0/attention/mystery/kernel", Tensor({2, 2}));  // not a Pegasus variable

  char tmpl[] = "/tmp/bigbird-pegasus-tf-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::filesystem::copy_file(case_dir() + "/config.json", dir + "/config.json");
  bb::testing::TfBundleWriter bundle;
  for (const std::string& n : tf.names()) {
    const Tensor& t = tf.get(n);
    bundle.add_f32(n, std::vector<int64_t>(t.shape().begin(), t.shape().end()),
                   std::vector<float>(t.data(), t.data() + t.numel()));
  }
  bundle.write(dir + "/model.ckpt-0");

  const io::LoadedCheckpoint loaded = io::load_checkpoint_with_report(dir, c);
  EXPECT_EQ(loaded.report.format, "tensorflow-bundle");
  // A variable the mapping does not know is reported (skipped or unexpected), never silently used.
  const auto mentions_mystery = [](const std::vector<std::string>& names) {
    return std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.find("mystery") != std::string::npos; });
  };
  EXPECT_TRUE(mentions_mystery(loaded.report.skipped) || mentions_mystery(loaded.report.unexpected));

  PegasusModel from_hf(c, std::move(hf));
  const PegasusModel from_tf = PegasusModel::load(dir);
  Seq2SeqInputs in;
  in.input_ids = g.in.read_i64("input_ids");
  in.attention_mask = g.in.read_i64("attention_mask");
  in.decoder_input_ids = g.in.read_i64("decoder_input_ids");
  const Tensor want = from_hf.forward(in).logits;
  bbtest::expect_close("logits via a TF checkpoint", from_tf.forward(in).logits, want, 1e-6);
  std::filesystem::remove_all(dir);
}
