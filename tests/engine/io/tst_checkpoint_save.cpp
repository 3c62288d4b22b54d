// save_pretrained and `bigbird convert`: a saved model re-loads bit-identically, uses HF's names,
// dtypes and {"format":"pt"}, leaves tied copies out; an interrupted save (disk full) keeps the
// previous files intact and leaves no temp files; convert works from every input format.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>

#include "engine/io/checkpoint_loader.h"
#include "engine/io/checkpoint_saver.h"
#include "engine/io/safetensors.h"
#include "tests/engine/io/io_test_util.h"
#include "tests/engine/io/tiny_bigbird.h"

using namespace bb;
using bb::testing::error_of;
using bb::testing::TempDir;
namespace fs = std::filesystem;

namespace {

ModelConfig tiny_config() { return parse_config_json(bb::testing::kTinyBigBirdConfig, "tiny config"); }

int run_cli(const std::string& args, const TempDir& tmp, std::string* err = nullptr) {
  const std::string cmd = std::string(BIGBIRD_CLI) + " " + args + " >" + tmp.file("cli.out") + " 2>" + tmp.file("cli.err");
  const int status = std::system(cmd.c_str());
  if (err) *err = io::read_text_file(tmp.file("cli.err"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(CheckpointSave, ReloadsBitIdenticallyWithHfConventions) {
  TempDir tmp;
  const ModelConfig c = tiny_config();
  const ParameterStore p = io::load_checkpoint(bb::testing::torch_fixture("tiny_bigbird_state_dict_legacy.bin"), c);
  const io::SaveResult r = io::save_pretrained(tmp.file("out"), c, p);
  EXPECT_EQ(r.written, (std::vector<std::string>{tmp.file("out") + "/model.safetensors", tmp.file("out") + "/config.json"}));
  const io::SafetensorsFile f = io::SafetensorsFile::open(tmp.file("out") + "/model.safetensors");
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(f.tensors().size(), p.size() - 2);  // decoder weight/bias are tied, as HF omits them
  EXPECT_EQ(f.find("cls.predictions.decoder.weight"), nullptr);
  EXPECT_EQ(f.header_size() % 8, 0u);
  const ParameterStore back = io::load_checkpoint(tmp.file("out"), c);
  ASSERT_EQ(back.names(), p.names());
  for (const std::string& n : p.names()) EXPECT_TRUE(bb::testing::bitwise_equal(back.get(n), p.get(n))) << n;
  EXPECT_EQ(parse_config_json(io::read_text_file(tmp.file("out") + "/config.json"), "saved").hidden_size, 8);
  // A second save over the first is just as good (atomic replace).
  io::save_pretrained(tmp.file("out"), c, back);
  const ParameterStore again = io::load_checkpoint(tmp.file("out"), c);
  for (const std::string& n : p.names()) EXPECT_TRUE(bb::testing::bitwise_equal(again.get(n), p.get(n))) << n;
}

TEST(CheckpointSave, InterruptedSaveKeepsThePreviousFiles) {
  TempDir tmp;
  const ModelConfig c = tiny_config();
  const ParameterStore p = io::load_checkpoint(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"), c);
  io::save_pretrained(tmp.file("out"), c, p);
  const std::vector<uint8_t> before = bb::testing::read_bytes(tmp.file("out") + "/model.safetensors");

  // Save a different model with a file-size limit below its size: write() fails half-way (EFBIG,
  // as a full disk fails with ENOSPC). Done in a child so the limit cannot leak into this process.
  ParameterStore changed = io::load_checkpoint(tmp.file("out"), c);
  changed.mutable_get("bert.embeddings.word_embeddings.weight")[0] = 42.0f;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    rlimit r{};
    getrlimit(RLIMIT_FSIZE, &r);
    r.rlim_cur = before.size() / 2;
    setrlimit(RLIMIT_FSIZE, &r);
    const std::string err = error_of([&] { io::save_pretrained(tmp.file("out"), c, changed); });
    _exit(err.find("File too large") != std::string::npos && err.find("model.safetensors") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the failed save must report the file and the OS reason";
  EXPECT_EQ(bb::testing::read_bytes(tmp.file("out") + "/model.safetensors"), before);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.file("out"))) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"config.json", "model.safetensors"})) << "no temp file may be left";
}

TEST(ConvertCli, EveryInputFormatToAnHfDirectory) {
  TempDir tmp;
  // PyTorch (legacy) with config and tokenizer files next to it, kept fp32.
  const std::string in = tmp.file("in");
  bb::testing::make_model_dir(in, bb::testing::torch_fixture("tiny_bigbird_state_dict_legacy.bin"), "pytorch_model.bin");
  io::write_file_atomic(in + "/vocab.txt", std::string("[PAD]\n[UNK]\n"));
  io::write_file_atomic(in + "/tokenizer_config.json", std::string("{\"do_lower_case\": false}"));
  std::string err;
  ASSERT_EQ(run_cli("convert " + in + " " + tmp.file("out"), tmp, &err), 0) << err;
  EXPECT_NE(err.find("(pytorch-legacy)"), std::string::npos) << err;
  EXPECT_NE(err.find("2 tied copies omitted"), std::string::npos) << err;
  EXPECT_EQ(io::read_text_file(tmp.file("out") + "/vocab.txt"), "[PAD]\n[UNK]\n");
  EXPECT_TRUE(fs::exists(tmp.file("out") + "/tokenizer_config.json"));
  const ModelConfig c = tiny_config();
  const ParameterStore a = io::load_checkpoint(in, c), b = io::load_checkpoint(tmp.file("out"), c);
  for (const std::string& n : a.names()) EXPECT_TRUE(bb::testing::bitwise_equal(a.get(n), b.get(n))) << n;

  // fp16 stays fp16 ("keep"), or is converted on request.
  const std::string half = tmp.file("half");
  bb::testing::make_model_dir(half, bb::testing::torch_fixture("tiny_bigbird_state_dict_fp16_zip.bin"), "pytorch_model.bin");
  ASSERT_EQ(run_cli("convert " + half + " " + tmp.file("half-out"), tmp, &err), 0) << err;
  EXPECT_EQ(io::SafetensorsFile::open(tmp.file("half-out") + "/model.safetensors").find("cls.predictions.bias")->dtype, io::DType::F16);
  EXPECT_NE(io::read_text_file(tmp.file("half-out") + "/config.json").find("\"torch_dtype\": \"float16\""), std::string::npos);
  ASSERT_EQ(run_cli("convert " + half + " " + tmp.file("bf16-out") + " --dtype bf16", tmp, &err), 0) << err;
  EXPECT_EQ(io::SafetensorsFile::open(tmp.file("bf16-out") + "/model.safetensors").find("cls.predictions.bias")->dtype, io::DType::BF16);

  // A bare TF-like file without config: the error says what to pass.
  EXPECT_EQ(run_cli("convert " + bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin") + " " + tmp.file("x"), tmp, &err), 1);
  EXPECT_NE(err.find("pass --config FILE"), std::string::npos) << err;
  EXPECT_EQ(run_cli("convert " + bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin") + " " + tmp.file("x") + " --config " +
                        in + "/config.json --dtype f8",
                    tmp, &err),
            1);
  EXPECT_NE(err.find("--dtype must be keep, f32, f16 or bf16"), std::string::npos) << err;
  EXPECT_EQ(run_cli("convert " + bb::testing::checkpoint_data("extra/malicious_os_system.pt") + " " + tmp.file("x") + " --config " +
                        in + "/config.json",
                    tmp, &err),
            1);
  EXPECT_NE(err.find("is not allowed"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}
