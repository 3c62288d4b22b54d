// packaging/tpu: the TPU worker's job translation (run with the system Python in --dry-run: the
// exact command and config it would run for each stack) and a syntax check of its Python files.
#include <gtest/gtest.h>

#include "tests/engine/remote/remote_test_util.h"
#include "tests/engine/support/cli.h"

using nlohmann::json;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kTpuDir = std::filesystem::weakly_canonical(std::string(BIGBIRD_TEST_DATA) + "/../../packaging/tpu").string();

struct WorkerRun {
  int code;
  std::string out, err;
};

WorkerRun run_worker(const bbtest::RemoteTemp& tmp, const json& spec, const std::string& stack, const std::string& env = "") {
  const std::string spec_file = tmp.write("worker-spec.json", spec.dump());
  const std::string cmd = env + " " + kPython + " " + bbtest::shell_quote(kTpuDir + "/bigbird_tpu_worker.py") + " --dry-run --spec " +
                          spec_file + " --stack " + stack + " >" + tmp.path + "/out 2>" + tmp.path + "/err";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, bbtest::read_all(tmp.path + "/out"), bbtest::read_all(tmp.path + "/err")};
}

json finetune_spec(const std::string& root) {
  return {{"kind", "finetune"},
          {"model", "models/bigbird-roberta-base"},
          {"inputs", {{"train", "uploads/imdb/train.csv"}, {"eval", "uploads/imdb/eval.csv"}}},
          {"params", {{"task", "cls"}, {"steps", "1000"}, {"batch-size", "4"}, {"lr", "2e-05"}, {"max-length", "4096"}}},
          {"model_path", root + "/models/bigbird-roberta-base"},
          {"input_paths", {{"train", root + "/uploads/imdb/train.csv"}, {"eval", root + "/uploads/imdb/eval.csv"}}},
          {"artifacts_dir", root + "/jobs/j-1/artifacts"}};
}

TEST(TpuWorker, PythonSyntax) {
  bbtest::RemoteTemp tmp("tpu-syntax");
  for (const char* f : {"bigbird_tpu_worker.py", "flax_finetune.py"}) {
    // The byte code goes to the temp directory, not into the source tree.
    const std::string cmd = "PYTHONPYCACHEPREFIX=" + tmp.path + " " + kPython + " -m py_compile " + bbtest::shell_quote(kTpuDir + "/" + f);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << f;
  }
}

TEST(TpuWorker, FlaxTranslationIsExact) {
  bbtest::RemoteTemp tmp("tpu-flax");
  const WorkerRun r = run_worker(tmp, finetune_spec("/srv"), "auto", "BIGBIRD_TPU_PYTHON=/opt/venv/bin/python");
  ASSERT_EQ(r.code, 0) << r.err;
  const json plan = json::parse(r.out);
  EXPECT_EQ(plan["stack"], "flax");
  EXPECT_EQ(plan["argv"], json::array({"/opt/venv/bin/python", kTpuDir + "/flax_finetune.py", "--config", "/srv/jobs/j-1/flax-config.json"}));
  EXPECT_EQ(plan["cwd"], "/srv/jobs/j-1");
  const json expected_config = {{"task", "cls"},
                                {"model", "/srv/models/bigbird-roberta-base"},
                                {"train_file", "/srv/uploads/imdb/train.csv"},
                                {"eval_file", "/srv/uploads/imdb/eval.csv"},
                                {"tokenizer", nullptr},
                                {"output_dir", "/srv/jobs/j-1/artifacts/finetune"},
                                {"text_column", "text"},
                                {"label_column", "label"},
                                {"max_length", 4096},
                                {"batch_size", 4},
                                {"steps", 1000},
                                {"epochs", 3.0},
                                {"learning_rate", 2e-05},
                                {"warmup_steps", 0},
                                {"weight_decay", 0.01},
                                {"mask_prob", 0.15},
                                {"seed", 42},
                                {"attention_type", "block_sparse"},
                                {"eval_every", 0}};
  EXPECT_EQ(plan["config"], expected_config) << plan["config"].dump(1);
}

TEST(TpuWorker, TfTranslationIsExact) {
  bbtest::RemoteTemp tmp("tpu-tf");
  const WorkerRun r = run_worker(tmp, finetune_spec("/srv"), "tf",
                           "BIGBIRD_TPU_PYTHON=python3 BIGBIRD_SRC=/opt/bigbird TPU_NAME=node-1 BIGBIRD_CLI=/usr/bin/bigbird");
  ASSERT_EQ(r.code, 0) << r.err;
  const json plan = json::parse(r.out);
  EXPECT_EQ(plan["stack"], "tf");
  EXPECT_EQ(plan["cwd"], "/opt/bigbird");
  EXPECT_EQ(plan["argv"], json::array({"python3", "bigbird/classifier/run_classifier.py", "--data_dir=/srv/uploads/imdb",
                                       "--output_dir=/srv/jobs/j-1/artifacts/finetune/tf",
                                       "--init_checkpoint=/srv/models/bigbird-roberta-base", "--attention_type=block_sparse",
                                       "--max_encoder_length=4096", "--train_batch_size=4", "--eval_batch_size=4",
                                       "--learning_rate=2e-05", "--num_train_steps=1000", "--do_train=True", "--do_eval=True",
                                       "--use_tpu=True", "--tpu_name=node-1"}));
  EXPECT_EQ(plan["convert"], json::array({json::array({"/usr/bin/bigbird", "convert", "/srv/jobs/j-1/artifacts/finetune/tf",
                                                       "/srv/jobs/j-1/artifacts/finetune/model", "--dtype", "f32"})}));
}

TEST(TpuWorker, SummarizeRunsOnTheEngineAndBadSpecsFailInOneLine) {
  bbtest::RemoteTemp tmp("tpu-engine");
  const json spec = {{"kind", "summarize"},
                     {"model", "models/pegasus"},
                     {"inputs", {{"document", "uploads/doc.txt"}}},
                     {"params", {{"beams", "5"}, {"max-length", "256"}}},
                     {"model_path", "/srv/models/pegasus"},
                     {"input_paths", {{"document", "/srv/uploads/doc.txt"}}},
                     {"artifacts_dir", "/srv/jobs/j-2/artifacts"}};
  WorkerRun r = run_worker(tmp, spec, "auto", "BIGBIRD_CLI=/usr/bin/bigbird");
  ASSERT_EQ(r.code, 0) << r.err;
  json plan = json::parse(r.out);
  EXPECT_EQ(plan["stack"], "engine");
  EXPECT_EQ(plan["argv"], json::array({"/usr/bin/bigbird", "summarize", "--model", "/srv/models/pegasus", "--file", "/srv/uploads/doc.txt",
                                       "--json", "--progress", "--beams", "5", "--max-length", "256"}));
  EXPECT_EQ(plan["stdout"], "/srv/jobs/j-2/artifacts/summary.json");

  json qa = finetune_spec("/srv");
  qa["params"]["task"] = "qa";
  r = run_worker(tmp, qa, "flax");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
  json no_src = finetune_spec("/srv");
  r = run_worker(tmp, no_src, "tf", "env -u BIGBIRD_SRC");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("BIGBIRD_SRC"), std::string::npos) << r.err;
  r = run_worker(tmp, spec, "flax");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
}

}  // namespace
