// The `bigbird forward`, `fill-mask` and `mask` contracts, run through the real binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/random_weights.h"
#include "tests/engine/support/cli.h"
#include "tests/engine/support/golden.h"

using namespace bb;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bigbird-forward-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& n) const { return path + "/" + n; }
};

std::string golden(const std::string& c) { return bbtest::data_path("hf-golden/" + c); }

void write_ids(const std::string& path, const std::vector<int64_t>& ids, int64_t batch = 1) {
  io::SafetensorsWriter w;
  I64Tensor t = I64Tensor::from({batch, int64_t(ids.size()) / batch}, ids);
  w.add("input_ids", t);
  w.write(path);
}

void expect_error(const bbtest::CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
}

}  // namespace

TEST(ForwardCli, SparseMlmCaseMatchesGoldenThroughFiles) {
  TempDir tmp;
  const std::string c = golden("b_sparse_train_512");
  auto r = bbtest::run_cli({"forward", "--model", c, "--inputs", c + "/inputs.safetensors", "--out",
                            tmp.file("out.safetensors"), "--head", "mlm", "--random-blocks", "hf-train",
                            "--hidden-states", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  io::SafetensorsFile got = io::SafetensorsFile::open(tmp.file("out.safetensors"));
  io::SafetensorsFile want = io::SafetensorsFile::open(c + "/outputs.safetensors");
  for (const char* n : {"last_hidden_state", "pooler_output", "logits", "hidden_states.0", "hidden_states.2"})
    bbtest::expect_close(n, got.read_f32(n), want.read_f32(n), 1e-4);
  for (const char* n : {"rand_attn.layer0", "rand_attn.layer1"}) {
    I32Tensor a = got.read_i32(n), b = want.read_i32(n);
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_TRUE(std::equal(a.data(), a.data() + a.numel(), b.data())) << n;
  }
  EXPECT_EQ(got.metadata().at("attention_type"), "block_sparse");
}

TEST(ForwardCli, DenseAttentionsAndBlockedAttentions) {
  TempDir tmp;
  const std::string full = golden("a_full_256");
  auto r = bbtest::run_cli({"forward", "--model", full, "--inputs", full + "/inputs.safetensors", "--out",
                            tmp.file("full.safetensors"), "--attentions"});
  ASSERT_EQ(r.code, 0) << r.err;
  io::SafetensorsFile got = io::SafetensorsFile::open(tmp.file("full.safetensors"));
  io::SafetensorsFile want = io::SafetensorsFile::open(full + "/outputs.safetensors");
  bbtest::expect_close("attentions.layer1", got.read_f32("attentions.layer1"), want.read_f32("attentions.layer1"), 1e-4);

  const std::string sparse = golden("c_sparse_eval_512");
  r = bbtest::run_cli({"forward", "--model", sparse, "--inputs", sparse + "/inputs.safetensors", "--out",
                       tmp.file("sparse.safetensors"), "--attentions", "--random-blocks", "hf-eval"});
  ASSERT_EQ(r.code, 0) << r.err;
  io::SafetensorsFile s = io::SafetensorsFile::open(tmp.file("sparse.safetensors"));
  Tensor global = s.read_f32("attentions.layer0.global_probs");
  Tensor probs = s.read_f32("attentions.layer0.probs");
  I32Tensor keys = s.read_i32("attentions.layer0.key_blocks");
  EXPECT_EQ(shape_to_string(global.shape()), "[1,4,2,16,512]");
  EXPECT_EQ(shape_to_string(probs.shape()), "[1,4,30,16,128]");
  EXPECT_EQ(shape_to_string(keys.shape()), "[1,4,30,8]");
  // hf-eval: every random key block is block 0; query block 1 lists [0,1,2,31] then 0,0,0.
  EXPECT_EQ(std::vector<int32_t>(keys.data(), keys.data() + 8), (std::vector<int32_t>{0, 1, 2, 31, 0, 0, 0, -1}));
  for (int64_t row = 0; row < 4 * 2 * 16; ++row) {
    double sum = 0;
    for (int64_t k = 0; k < 512; ++k) sum += global[row * 512 + k];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(ForwardCli, ErrorsAreOneLineAndNameTheProblem) {
  TempDir tmp;
  const std::string c = golden("b_sparse_train_512");
  const std::string out = tmp.file("o.safetensors");
  expect_error(bbtest::run_cli({"forward", "--model", tmp.file("nope"), "--inputs", c + "/inputs.safetensors", "--out", out}),
               "nope");
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", c + "/outputs.safetensors", "--out", out}),
               "input_ids");
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", c, "--out", out}), c);
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", c + "/inputs.safetensors", "--out", out,
                                "--attention-type", "sparse_ish"}),
               "sparse_ish");
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", c + "/inputs.safetensors"}), "--out");

  write_ids(tmp.file("long.safetensors"), std::vector<int64_t>(1100, 7));
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", tmp.file("long.safetensors"), "--out", out}),
               "max_position_embeddings = 1024");
  write_ids(tmp.file("empty.safetensors"), {});
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", tmp.file("empty.safetensors"), "--out", out}),
               "empty input");
  write_ids(tmp.file("oov.safetensors"), std::vector<int64_t>(300, 500));
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", tmp.file("oov.safetensors"), "--out", out}),
               "outside the vocabulary");
  {
    io::SafetensorsWriter w;
    w.add("input_ids", Tensor::from({1, 2}, {1.0f, 2.0f}));
    w.write(tmp.file("float.safetensors"));
  }
  expect_error(bbtest::run_cli({"forward", "--model", c, "--inputs", tmp.file("float.safetensors"), "--out", out}),
               "input_ids");

  // A model whose query weight has the wrong shape.
  const std::string bad = tmp.file("bad_model");
  fs::create_directories(bad);
  fs::copy_file(c + "/config.json", bad + "/config.json");
  {
    io::SafetensorsFile src = io::SafetensorsFile::open(c + "/model.safetensors");
    io::SafetensorsWriter w;
    for (const auto& t : src.tensors()) {
      if (t.name == "bert.encoder.layer.1.attention.self.query.weight") w.add(t.name, Tensor({64, 32}));
      else w.add(t.name, src.read_f32(t.name));
    }
    w.write(bad + "/model.safetensors");
  }
  expect_error(bbtest::run_cli({"forward", "--model", bad, "--inputs", c + "/inputs.safetensors", "--out", out}),
               "'bert.encoder.layer.1.attention.self.query.weight' has shape [64,32], expected [64,64]");
  EXPECT_FALSE(fs::exists(out));
}

TEST(FillMaskCli, PredictsEveryMaskAndRefusesTextWithout) {
  TempDir tmp;
  ModelConfig cfg = bigbird_shape_config("tiny");
  cfg.vocab_size = 50358;  // resources/vocab/gpt2.model
  const std::string dir = tmp.file("model");
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", config_to_json(cfg));
  {
    ParameterStore p = random_bigbird_mlm_parameters(cfg, 3);
    io::SafetensorsWriter w;
    for (const auto& n : p.names()) w.add(n, p.get(n));
    w.write(dir + "/model.safetensors");
  }
  fs::copy_file(std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/gpt2.model", dir + "/spiece.model");
  auto r = bbtest::run_cli({"fill-mask", "--model", dir, "--text", "It is a truth [MASK] acknowledged, that a [MASK].",
                            "--top-k", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["masks"].size(), 2u);
  for (const auto& m : j["masks"]) {
    ASSERT_EQ(m["candidates"].size(), 3u);
    double prev = 1.0;
    for (const auto& c : m["candidates"]) {
      EXPECT_LE(double(c["probability"]), prev);
      prev = c["probability"];
    }
  }
  EXPECT_EQ(j["masks"][0]["char_span"][0], 14);  // "[MASK]" starts at code point 14
  expect_error(bbtest::run_cli({"fill-mask", "--model", dir, "--text", "no mask here"}), "[MASK]");
}

TEST(MaskCli, TextJsonAndPng) {
  TempDir tmp;
  auto r = bbtest::run_cli({"mask", "--length", "1024", "--block", "64", "--random", "3", "--layer", "0", "--head", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  // 16 blocks: global first/last rows are all G.
  EXPECT_NE(r.out.find("\nGGGGGGGGGGGGGGGG\n"), std::string::npos) << r.out;
  r = bbtest::run_cli({"mask", "--length", "1024", "--format", "json", "--heads", "4", "--head", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["num_blocks"], 16);
  EXPECT_EQ(j["random_table"].size(), 14u);
  EXPECT_EQ(j["query_blocks"][5]["keys"].size(), 8u);
  r = bbtest::run_cli({"mask", "--length", "4096", "--format", "png", "--out", tmp.file("m.png")});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string png = bbtest::slurp(tmp.file("m.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  r = bbtest::run_cli({"mask", "--length", "300"});  // short: falls back to full attention
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("full attention"), std::string::npos);
  expect_error(bbtest::run_cli({"mask", "--length", "4096", "--head", "12"}), "--head");
  expect_error(bbtest::run_cli({"mask", "--length", "abc"}), "--length");
}
