// CLI contracts of the summarization engine: `bigbird generate` (HF generate() on token ids),
// `bigbird forward` on BigBird-Pegasus checkpoints, and `bigbird summarize` (text, --json timings,
// progress, one-line errors for bad documents and options).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/io/safetensors.h"
#include "tests/engine/generate/tiny_pegasus.h"
#include "tests/engine/support/cli.h"
#include "tests/engine/support/golden.h"

using bbtest::run_cli;
using nlohmann::json;

namespace {

bbtest::TinyPegasusCleanup cleanup;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bigbird-gen-cli-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    std::ofstream(path + "/" + name, std::ios::binary) << content;
    return path + "/" + name;
  }
};

const json& golden_case(const std::string& fixture, const std::string& name) {
  static std::map<std::string, json> docs;
  if (!docs.count(fixture)) docs[fixture] = bbtest::read_json(bbtest::data_path("generation/" + fixture + "/expected.json"));
  for (const json& c : docs[fixture]["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no case " + name);
}

}  // namespace

TEST(GenerateCli, ReproducesHfGoldensThroughTheContract) {
  TempDir tmp;
  const std::string dir = bbtest::data_path("generation/bbp_tiny_b16r3_s25");
  struct Run {
    std::string name;
    std::vector<std::string> flags;
  };
  const std::vector<Run> runs = {
      {"B2_L512/beam4_nrng3_min10_ml40",
       {"--num-beams", "4", "--length-penalty", "1.0", "--early-stopping", "false", "--no-repeat-ngram-size", "3",
        "--min-length", "10", "--max-length", "40"}},
      {"L256/beam4_lp1.0_never_ml40", {"--num-beams", "4", "--early-stopping", "never", "--max-length", "40"}},
      {"L512/beam4_lp2.0_forcedeos_ml16",
       {"--num-beams", "4", "--length-penalty", "2.0", "--forced-eos-token-id", "1", "--max-length", "16"}},
      {"L512/greedy_ml32", {"--max-length", "32", "--do-sample", "false"}},
  };
  for (const Run& r : runs) {
    const json& c = golden_case("bbp_tiny_b16r3_s25", r.name);
    const std::string out = tmp.path + "/out.json";
    std::vector<std::string> args = {"generate", "--model", dir, "--inputs", dir + "/" + c["input"].get<std::string>(),
                                     "--out", out};
    args.insert(args.end(), r.flags.begin(), r.flags.end());
    const bbtest::CliResult res = run_cli(args);
    ASSERT_EQ(res.code, 0) << r.name << ": " << res.err;
    const json got = bbtest::read_json(out);
    EXPECT_EQ(got["sequences"], c["expected"]["sequences"]) << r.name;
    if (c["generation_config"]["num_beams"] > 1) {
      ASSERT_EQ(got["sequences_scores"].size(), c["expected"]["sequence_scores"].size());
      for (size_t i = 0; i < got["sequences_scores"].size(); ++i)
        EXPECT_NEAR(got["sequences_scores"][i].get<double>(), c["expected"]["sequence_scores"][i].get<double>(), 1e-5);
    } else {
      EXPECT_FALSE(got.contains("sequences_scores"));  // HF greedy returns no scores
    }
  }
}

TEST(GenerateCli, RejectsWhatItCannotDoInOneLine) {
  TempDir tmp;
  const std::string dir = bbtest::data_path("generation/bbp_tiny_b16r3_s11");
  const std::string in = dir + "/inputs_L256.safetensors", out = tmp.path + "/o.json";
  const std::vector<std::vector<std::string>> bad = {
      {"generate", "--model", dir, "--inputs", in, "--out", out, "--do-sample", "true"},
      {"generate", "--model", dir, "--inputs", in, "--out", out, "--num-beams", "0"},
      {"generate", "--model", dir, "--inputs", in, "--out", out, "--early-stopping", "sometimes"},
      {"generate", "--model", dir, "--inputs", in, "--out", out, "--max-length", "5000"},
      {"generate", "--model", dir, "--inputs", in, "--out", out, "--top-k", "5"},
      {"generate", "--model", dir, "--inputs", tmp.file("x.safetensors", "garbage"), "--out", out},
      {"generate", "--model", bbtest::data_path("hf-golden/a_full_256"), "--inputs", in, "--out", out},
  };
  for (const auto& args : bad) {
    const bbtest::CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 1) << args.back();
    EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

TEST(ForwardCli, PegasusLogitsAndEncoderStateMatchHf) {
  TempDir tmp;
  const std::string dir = bbtest::data_path("hf-golden/h_pegasus_512");
  bb::io::SafetensorsFile want = bb::io::SafetensorsFile::open(dir + "/outputs.safetensors");
  for (const std::string mode : {"hf-train", "hf-eval"}) {
    const std::string out = tmp.path + "/" + mode + ".safetensors";
    const bbtest::CliResult r =
        run_cli({"forward", "--model", dir, "--inputs", dir + "/inputs.safetensors", "--out", out, "--random-blocks", mode});
    ASSERT_EQ(r.code, 0) << r.err;
    bb::io::SafetensorsFile got = bb::io::SafetensorsFile::open(out);
    bbtest::expect_close("logits " + mode, got.read_f32("logits"), want.read_f32(mode == "hf-train" ? "logits" : "logits_eval"), 1e-4);
    if (mode == "hf-train") {  // the stored encoder state and tables are the train-mode ones
      bbtest::expect_close("encoder_last_hidden_state", got.read_f32("encoder_last_hidden_state"),
                           want.read_f32("encoder_last_hidden_state"), 1e-4);
      const bb::I32Tensor t = got.read_i32("rand_attn.encoder_layer1"), ref = want.read_i32("rand_attn.encoder_layer1");
      EXPECT_EQ(std::vector<int32_t>(t.data(), t.data() + t.numel()), std::vector<int32_t>(ref.data(), ref.data() + ref.numel()));
    }
  }
  // Without decoder_input_ids the decoder reads input_ids shifted right (HF BigBirdPegasusModel).
  bb::io::SafetensorsFile in = bb::io::SafetensorsFile::open(dir + "/inputs.safetensors");
  bb::io::SafetensorsWriter w;
  w.add("input_ids", in.read_i64("input_ids"));
  w.write(tmp.path + "/enc_only.safetensors");
  const bbtest::CliResult r = run_cli({"forward", "--model", dir, "--inputs", tmp.path + "/enc_only.safetensors", "--out",
                                       tmp.path + "/shifted.safetensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(bb::io::SafetensorsFile::open(tmp.path + "/shifted.safetensors").read_f32("logits").shape(), (bb::Shape{1, 512, 128}));
  const bbtest::CliResult head = run_cli({"forward", "--model", dir, "--inputs", dir + "/inputs.safetensors", "--out",
                                          tmp.path + "/h.safetensors", "--head", "mlm"});
  EXPECT_EQ(head.code, 1);
  EXPECT_TRUE(bbtest::one_line(head.err)) << head.err;
}

TEST(SummarizeCli, JsonWithTimingsAndCrossAttention) {
  const std::string model = bbtest::tiny_pegasus_dir();
  const bbtest::CliResult r = run_cli({"summarize", "--model", model, "--text", "BigBird reads long documents. It is sparse.",
                                       "--beams", "2", "--max-length", "6", "--json", "--cross-attention", "3", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_TRUE(j["summary"].is_string());
  for (const char* k : {"load_s", "tokenize_s", "encode_s", "decode_s", "total_s", "decoder_ms_per_token", "tokens_per_s", "peak_rss_mb"})
    EXPECT_TRUE(j["timings"].contains(k)) << k;
  EXPECT_EQ(j["settings"]["num_beams"], 2);
  EXPECT_EQ(j["truncated"], false);
  const json& ch = j["chunks"][0];
  ASSERT_EQ(ch["cross_attention"].size(), ch["summary_ids"].size());
  EXPECT_EQ(ch["cross_attention"][0]["sources"].size(), 3u);
}

TEST(SummarizeCli, PlainTextFromStdinAndLongDocumentNotice) {
  const std::string model = bbtest::tiny_pegasus_dir();
  const bbtest::CliResult r = run_cli({"summarize", "--model", model, "--file", "-", "--max-length", "5", "--beams", "1"},
                                      "A document on stdin.\nWith two lines.\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_NE(r.err.find("tokens generated"), std::string::npos) << r.err;

  std::string longdoc;
  for (int i = 0; i < 700; ++i) longdoc += "Sentence " + std::to_string(i) + " is about block sparse attention in long inputs.\n";
  const bbtest::CliResult t = run_cli({"summarize", "--model", model, "--file", "-", "--max-length", "3", "--beams", "1"}, longdoc);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.err.find("note: the document is"), std::string::npos) << t.err;  // truncation is never silent
  const bbtest::CliResult e = run_cli({"summarize", "--model", model, "--file", "-", "--long", "error"}, longdoc);
  EXPECT_EQ(e.code, 1);
  EXPECT_TRUE(bbtest::one_line(e.err)) << e.err;
}

TEST(SummarizeCli, BadDocumentsAndOptionsFailInOneLine) {
  TempDir tmp;
  const std::string model = bbtest::tiny_pegasus_dir();
  const std::vector<std::vector<std::string>> bad = {
      {"summarize", "--model", model, "--file", tmp.file("empty.txt", "")},
      {"summarize", "--model", model, "--file", tmp.file("blank.txt", "  \n\n\t ")},
      {"summarize", "--model", model, "--file", tmp.file("bin.dat", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10))},
      {"summarize", "--model", model, "--file", tmp.file("latin1.txt", "d\xe9j\xe0 vu")},
      {"summarize", "--model", model, "--file", tmp.path},
      {"summarize", "--model", model, "--file", tmp.path + "/missing.txt"},
      {"summarize", "--model", model},
      {"summarize", "--model", model, "--text", "x", "--long", "sometimes"},
      {"summarize", "--model", model, "--text", "x", "--beams", "0"},
      {"summarize", "--model", model, "--text", "x", "--cross-attention", "3"},
      {"summarize", "--model", tmp.path, "--text", "x"},
  };
  for (const auto& args : bad) {
    const bbtest::CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 1) << args.back();
    EXPECT_TRUE(bbtest::one_line(r.err)) << args.back() << ": " << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}
