// `bigbird inspect` end to end: runs the real binary (BIGBIRD_CLI) on fixture files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "tests/engine/io/io_test_util.h"

using nlohmann::json;

namespace {

const std::string kData = BIGBIRD_TEST_DATA;

struct CliResult {
  int code = -1;
  std::string out, err;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q.append("'\\''");
    else
      q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

CliResult run_cli(const std::vector<std::string>& args) {
  bb::testing::TempDir dir;
  std::string cmd = shell_quote(BIGBIRD_CLI);
  for (const auto& a : args) cmd.append(" ").append(shell_quote(a));
  cmd.append(" >").append(dir.file("out")).append(" 2>").append(dir.file("err"));
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = bb::io::read_text_file(dir.file("out"));
  r.err = bb::io::read_text_file(dir.file("err"));
  return r;
}

}  // namespace

TEST(InspectCli, GoldenModelDirectoryText) {
  const std::string dir = kData + "/hf-golden/b_sparse_train_512";
  const CliResult r = run_cli({"inspect", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto f = bb::io::SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_NE(r.out.find("format:       safetensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensors:      " + std::to_string(f.tensors().size()) + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("architecture: BigBirdForMaskedLM (big_bird)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hidden 64, layers 2, heads 4 (head dim 16), ffn 128, vocab 128, max positions 1024"), std::string::npos);
  EXPECT_NE(r.out.find("attention block_sparse (block 16, 3 random blocks)"), std::string::npos);
  EXPECT_NE(r.out.find("bert.encoder.layer.1.attention.self.query.weight"), std::string::npos);
  EXPECT_NE(r.out.find("F32    [1024,64]"), std::string::npos);
}

TEST(InspectCli, GoldenModelDirectoryJson) {
  for (const char* c : {"f_seqcls_512", "h_pegasus_512"}) {
    const std::string dir = kData + "/hf-golden/" + c;
    SCOPED_TRACE(dir);
    const CliResult r = run_cli({"inspect", dir, "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    const auto f = bb::io::SafetensorsFile::open(dir + "/model.safetensors");
    int64_t params = 0;
    for (const auto& t : f.tensors()) params += bb::shape_numel(t.shape);
    EXPECT_EQ(j["format"], "safetensors");
    EXPECT_EQ(j["tensor_count"], f.tensors().size());
    EXPECT_EQ(j["parameter_count"], params);
    EXPECT_EQ(j["dtypes"]["F32"], f.tensors().size());
    ASSERT_EQ(j["tensors"].size(), f.tensors().size());
    for (const auto& row : j["tensors"]) {
      const bb::io::TensorInfo* t = f.find(row["name"]);
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(row["shape"].get<bb::Shape>(), t->shape);
      EXPECT_EQ(row["dtype"], "F32");
    }
    EXPECT_EQ(j["architecture"]["hidden_size"], 64);
    if (std::string(c) == "h_pegasus_512") {
      EXPECT_EQ(j["architecture"]["model_type"], "bigbird_pegasus");
      EXPECT_EQ(j["architecture"]["decoder_layers"], 2);
      EXPECT_EQ(j["architecture"]["layer_norm_eps"], 1e-5);
      EXPECT_EQ(j["architecture"]["use_bias"], false);
    } else {
      EXPECT_EQ(j["architecture"]["num_labels"], 3);
    }
  }
}

TEST(InspectCli, SingleFileWithMixedDtypes) {
  const std::string path = kData + "/hf-golden/f_qa_512/outputs.safetensors";
  const CliResult r = run_cli({"inspect", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_FALSE(j.contains("architecture"));
  EXPECT_EQ(j["dtypes"]["I64"], 1);  // derived.token_type_ids
  EXPECT_EQ(j["dtypes"]["I32"], 2);  // rand_attn.layer0/1
  EXPECT_EQ(j["file_size"], bb::io::SafetensorsFile::open(path).file_size());
}

TEST(InspectCli, AbuseFileFailsWithOneLine) {
  const std::string path = kData + "/checkpoints/safetensors/safetensors_cpp/safetensors_abuse_attempt_1.safetensors";
  const CliResult r = run_cli({"inspect", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "bigbird inspect: error: " + path + ": header length 1000 exceeds file size 88 (InvalidHeaderLength)\n");
}

TEST(InspectCli, OtherFailuresAreOneLineToo) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"inspect", kData + "/nope"}, kData + "/nope: no such file, directory or cached Hugging Face model"},
      {{"inspect", kData + "/checkpoints/extra/malicious_os_system.pt"}, "global \"posix.system\" is not allowed"},
      {{"inspect", kData + "/checkpoints/extra/torchscript_traced.pt"}, "TorchScript archive"},
      {{"inspect", kData + "/checkpoints/safetensors/expected.json"}, "not a recognised checkpoint"},
      {{"inspect", kData + "/checkpoints"}, "no model weights found"},
      {{"inspect"}, "inspect needs exactly one PATH"},
      {{"inspect", "a", "--bogus"}, "unknown option --bogus"},
  };
  for (const auto& [args, text] : cases) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 1) << text;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST(InspectCli, HelpListsTheCommand) {
  const CliResult r = run_cli({"--help"});
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  const CliResult h = run_cli({"inspect", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("usage: bigbird inspect PATH [--config FILE] [--json]"), std::string::npos);
}

TEST(InspectCli, EveryGoldenMatchesItsConfig) {
  for (const auto& e : std::filesystem::directory_iterator(kData + "/hf-golden")) {
    if (!e.is_directory()) continue;
    SCOPED_TRACE(e.path().string());
    const CliResult r = run_cli({"inspect", e.path().string(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json j = json::parse(r.out);
    const json c = j["config_check"];
    EXPECT_EQ(c["missing"].size(), 0u) << c.dump();
    EXPECT_EQ(c["unexpected"].size(), 0u) << c.dump();
    EXPECT_EQ(c["shape_mismatches"].size(), 0u) << c.dump();
    EXPECT_EQ(c["present"].get<size_t>() + c["tied"].size() + c["absent_optional"].size(), c["expected"].get<size_t>()) << c.dump();
    int64_t params = 0;
    for (const auto& t : j["tensors"]) params += bb::shape_numel(t["shape"].get<bb::Shape>());
    EXPECT_EQ(c["estimated_memory_bytes"].get<int64_t>(), params * 4);  // all F32, tied copies shared
  }
}

TEST(InspectCli, PyTorchFileWithItsViews) {
  const std::string path = kData + "/checkpoints/pytorch/generated_torch_1.13.1/edge_cases_legacy.pt";
  const CliResult r = run_cli({"inspect", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("format:       pytorch-legacy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note:         one shared storage: contig, row_slice_offset, transposed, col_slice"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expand_3e9_i8"), std::string::npos);
  EXPECT_NE(r.out.find("[3000000000]"), std::string::npos);  // listed; never materialised
}

TEST(InspectCli, GoogleBertTensorFlowIndexAgainstABigBirdConfig) {
  // The real Chinese BERT-Base TF index (names BigBird's bert/... checkpoints share) mapped onto
  // BigBirdForPreTraining: every HF parameter found, kernels transposed, no leftovers.
  bb::testing::TempDir dir;
  bb::io::write_file_atomic(dir.file("config.json"), std::string(R"({"architectures": ["BigBirdForPreTraining"],
    "model_type": "big_bird", "attention_type": "original_full", "hidden_size": 768, "intermediate_size": 3072,
    "num_attention_heads": 12, "num_hidden_layers": 12, "max_position_embeddings": 512, "type_vocab_size": 2,
    "vocab_size": 21128, "sep_token_id": 102})"));
  const std::string index = kData + "/checkpoints/tensorflow/index_only/bert_chinese_L-12_H-768_A-12.bert_model.ckpt.index";
  const CliResult r = run_cli({"inspect", index, "--config", dir.file("config.json"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["format"], "tensorflow-bundle");
  EXPECT_EQ(j["tensor_count"], 206);
  const json c = j["config_check"];
  EXPECT_EQ(c["expected"], 208);
  EXPECT_EQ(c["present"], 206);
  EXPECT_EQ(c["tied"], json::array({"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}));
  EXPECT_EQ(c["missing"].size(), 0u) << c.dump();
  EXPECT_EQ(c["unexpected"].size(), 0u) << c.dump();
  EXPECT_EQ(c["shape_mismatches"].size(), 0u) << c.dump();
  EXPECT_EQ(c["estimated_memory_bytes"], int64_t(j["parameter_count"]) * 4);
  bool missing_note = false;
  for (const auto& n : j["notes"]) missing_note = missing_note || n.get<std::string>().find("data file missing") != std::string::npos;
  EXPECT_TRUE(missing_note);
}
