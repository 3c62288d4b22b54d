// `bigbird finetune --init random --config FILE` (pre-training from scratch without a model
// directory) and `--eval-only` (metrics of a model, or of the untrained random init, on --eval):
// the two paths scripts/default-model/train uses for the bundled model and its baseline.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tests/engine/support/cli.h"
#include "tests/engine/train/finetune_test_util.h"

using namespace bb;
namespace fs = std::filesystem;

namespace {

const std::string kTokenizer = std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/gpt2.model";

nlohmann::json last_json_line(const std::string& out) {
  const size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  const size_t start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

bbtest::CliResult eval_only(const std::vector<std::string>& model_args, const std::string& eval_file) {
  std::vector<std::string> a = {"finetune",     "--task",       "mlm",         "--eval-only", "--eval", eval_file,
                                "--tokenizer",  kTokenizer,     "--max-length", "64",         "--batch-size",
                                "8",            "--threads",    "2",           "--seed",      "11"};
  a.insert(a.end(), model_args.begin(), model_args.end());
  return bbtest::run_cli(a);
}

TEST(FinetuneInitEval, RandomInitFromConfigTrainsAndEvalOnlyReproducesTheFinalEvaluation) {
  const std::string dir = bbtest::scratch_dir("init-eval");
  const std::string config = dir + "/config.json";
  bbtest::write_text(config, config_to_json(bbtest::small_gpt2_vocab_config()));
  fs::create_directories(dir + "/corpus");
  bbtest::write_text(dir + "/corpus/book.txt", bbtest::synthetic_corpus(300, 1));
  bbtest::write_text(dir + "/heldout.txt", bbtest::synthetic_corpus(60, 2));

  // Baseline: the untrained model of the same seed. Logits of a std-0.02 init are nearly uniform,
  // so its loss is close to ln(vocab) = ln(50358) = 10.83.
  const bbtest::CliResult base = eval_only({"--init", "random", "--config", config}, dir + "/heldout.txt");
  ASSERT_EQ(base.code, 0) << base.err;
  const nlohmann::json b = last_json_line(base.out);
  std::printf("  random init: eval_loss %.4f eval_accuracy %.4f\n", double(b["eval_loss"]), double(b["eval_accuracy"]));
  EXPECT_NEAR(double(b["eval_loss"]), std::log(50358.0), 0.3);
  EXPECT_FALSE(fs::exists(dir + "/out"));  // eval-only writes nothing

  const std::string train = "finetune --task mlm --init random --config " + config + " --train " + dir +
                            "/corpus --eval " + dir + "/heldout.txt --out " + dir + "/out --tokenizer " + kTokenizer +
                            " --steps 40 --batch-size 8 --lr 3e-3 --max-length 64 --threads 2 --seed 11";
  ASSERT_EQ(bbtest::run_cli(train, dir + "/log.txt"), 0) << bbtest::read_file_or_empty(dir + "/log.txt");
  EXPECT_NE(bbtest::read_file_or_empty(dir + "/log.txt").find("fresh random weights"), std::string::npos);
  const nlohmann::json final_eval = bbtest::read_jsonl(dir + "/out/metrics.jsonl").back();
  ASSERT_EQ(final_eval["event"], "eval");

  // The exported model evaluated on its own gives the trainer's final numbers (same masks), and
  // beats the untrained baseline.
  const bbtest::CliResult trained = eval_only({"--model", dir + "/out/model"}, dir + "/heldout.txt");
  ASSERT_EQ(trained.code, 0) << trained.err;
  const nlohmann::json t = last_json_line(trained.out);
  std::printf("  after 40 steps: eval_loss %.4f eval_accuracy %.4f\n", double(t["eval_loss"]),
              double(t["eval_accuracy"]));
  EXPECT_NEAR(double(t["eval_loss"]), double(final_eval["eval_loss"]), 1e-6);
  EXPECT_NEAR(double(t["eval_accuracy"]), double(final_eval["eval_accuracy"]), 1e-9);
  EXPECT_LT(double(t["eval_loss"]), double(b["eval_loss"]) - 1.0);
  EXPECT_GT(double(t["eval_accuracy"]), double(b["eval_accuracy"]));
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);  // kept on failure
}

TEST(FinetuneInitEval, BadCombinationsAreOneClearError) {
  const std::string dir = bbtest::scratch_dir("init-eval-bad");
  const std::string config = dir + "/config.json";
  bbtest::write_text(config, config_to_json(bbtest::small_gpt2_vocab_config()));
  bbtest::write_text(dir + "/heldout.txt", bbtest::synthetic_corpus(10, 2));
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"finetune", "--task", "mlm", "--init", "random", "--config", config, "--eval-only"}, "--eval"},
      {{"finetune", "--task", "mlm", "--init", "zeros", "--config", config, "--eval-only", "--eval", dir + "/heldout.txt"},
       "--init"},
      {{"finetune", "--task", "mlm", "--config", config, "--eval-only", "--eval", dir + "/heldout.txt"}, "--init random"},
      {{"finetune", "--task", "mlm", "--init", "random", "--eval-only", "--eval", dir + "/heldout.txt"}, "--config"},
      {{"finetune", "--task", "mlm", "--init", "random", "--config", dir + "/missing.json", "--eval-only", "--eval",
        dir + "/heldout.txt"},
       "missing.json"},
  };
  for (const Case& c : cases) {
    const bbtest::CliResult r = bbtest::run_cli(c.args);
    EXPECT_EQ(r.code, 1) << c.expect;
    EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

}  // namespace
