// End-to-end fine-tuning through `bigbird finetune`: a tiny model learns a synthetic classification
// task in 50 steps, MLM loss goes down, a run killed with SIGKILL resumes and reproduces the
// uninterrupted loss curve bit for bit, and the exported model loads in the inference engine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/models/bigbird_model.h"
#include "tests/engine/train/finetune_test_util.h"

using namespace bb;
namespace fs = std::filesystem;

namespace {

const std::string kTokenizer = std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/gpt2.model";

TEST(Finetune, SyntheticClassificationReaches95PercentIn50Steps) {
  const std::string dir = bbtest::scratch_dir("cls");
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 7);
  bbtest::write_text(dir + "/train.csv", bbtest::synthetic_classification_csv(800, 1));
  bbtest::write_text(dir + "/eval.csv", bbtest::synthetic_classification_csv(200, 2));
  const std::string args = "finetune --task cls --model " + dir + "/base --train " + dir + "/train.csv --eval " + dir +
                           "/eval.csv --out " + dir + "/out --tokenizer " + kTokenizer +
                           " --steps 50 --batch-size 16 --lr 3e-3 --max-length 64 --threads 2";
  ASSERT_EQ(bbtest::run_cli(args, dir + "/log.txt"), 0) << bbtest::read_file_or_empty(dir + "/log.txt");
  const auto records = bbtest::read_jsonl(dir + "/out/metrics.jsonl");
  ASSERT_FALSE(records.empty());
  const nlohmann::json& last = records.back();
  ASSERT_EQ(last["event"], "eval");
  ASSERT_EQ(last["step"], 50);
  std::printf("  eval accuracy after 50 steps: %.4f (loss %.4f)\n", double(last["eval_accuracy"]),
              double(last["eval_loss"]));
  EXPECT_GE(double(last["eval_accuracy"]), 0.95);

  // The export is an HF model directory the inference engine loads, with the label names.
  BigBirdModel exported = BigBirdModel::load(dir + "/out/model");
  EXPECT_TRUE(exported.has_head(Head::SequenceClassification));
  EXPECT_EQ(exported.config().id2label.at(1), "positive");
  EXPECT_TRUE(fs::exists(dir + "/out/model/spiece.model"));
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);  // kept on failure
}

}  // namespace

namespace {

std::vector<double> train_losses(const std::string& metrics) {
  std::vector<double> out;
  for (const nlohmann::json& r : bbtest::read_jsonl(metrics))
    if (r["event"] == "train") out.push_back(r["loss"].get<double>());
  return out;
}

// Pre-training from scratch, as the bundled model will be trained: a model directory with only
// config.json, and a corpus directory of several text files.
TEST(Finetune, MaskedLMFromScratchLossDecreases) {
  const std::string dir = bbtest::scratch_dir("mlm");
  fs::create_directories(dir + "/base");
  bbtest::write_text(dir + "/base/config.json", config_to_json(bbtest::small_gpt2_vocab_config()));
  fs::create_directories(dir + "/corpus");
  bbtest::write_text(dir + "/corpus/book1.txt", bbtest::synthetic_corpus(200, 1));
  bbtest::write_text(dir + "/corpus/book2.txt", bbtest::synthetic_corpus(200, 2));
  const std::string args = "finetune --task mlm --model " + dir + "/base --train " + dir + "/corpus --out " + dir +
                           "/out --tokenizer " + kTokenizer +
                           " --steps 40 --batch-size 8 --lr 3e-3 --max-length 64 --whole-word --threads 2";
  ASSERT_EQ(bbtest::run_cli(args, dir + "/log.txt"), 0) << bbtest::read_file_or_empty(dir + "/log.txt");
  const std::vector<double> losses = train_losses(dir + "/out/metrics.jsonl");
  ASSERT_EQ(losses.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += losses[size_t(i)] / 5;
    last += losses[losses.size() - 1 - size_t(i)] / 5;
  }
  std::printf("  MLM loss: first 5 steps %.3f, last 5 steps %.3f\n", first, last);
  EXPECT_LT(last, 0.7 * first);
  const nlohmann::json eval = bbtest::read_jsonl(dir + "/out/metrics.jsonl").back();
  ASSERT_EQ(eval["event"], "eval");
  EXPECT_GT(double(eval["eval_accuracy"]), 0.0);
  EXPECT_NE(bbtest::read_file_or_empty(dir + "/log.txt").find("fresh random weights"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/out/model/model.safetensors"));
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);  // kept on failure
}

int64_t max_logged_step(const std::string& metrics) {
  int64_t m = 0;
  std::ifstream f(metrics);
  std::string line;
  while (std::getline(f, line)) {
    try {
      m = std::max<int64_t>(m, nlohmann::json::parse(line).at("step").get<int64_t>());
    } catch (...) {  // a line being written
    }
  }
  return m;
}

int64_t latest_step(const std::string& out) {
  const std::string s = bbtest::read_file_or_empty(out + "/checkpoints/latest");
  return s.rfind("step-", 0) == 0 ? std::stoll(s.substr(5)) : 0;
}

TEST(Finetune, KilledRunResumesAndReproducesTheLossCurveBitForBit) {
  const std::string dir = bbtest::scratch_dir("resume");
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 5);
  bbtest::write_text(dir + "/corpus.txt", bbtest::synthetic_corpus(300, 2));
  // Dropout on, MLM masking, gradient accumulation and a warmup schedule: every source of state.
  const std::vector<std::string> common = {"finetune",
                                           "--task",
                                           "mlm",
                                           "--model",
                                           dir + "/base",
                                           "--train",
                                           dir + "/corpus.txt",
                                           "--tokenizer",
                                           kTokenizer,
                                           "--steps",
                                           "30",
                                           "--batch-size",
                                           "4",
                                           "--grad-accum",
                                           "2",
                                           "--lr",
                                           "2e-3",
                                           "--warmup",
                                           "5",
                                           "--max-length",
                                           "48",
                                           "--save-every",
                                           "4",
                                           "--eval-every",
                                           "10",
                                           "--threads",
                                           "2",
                                           "--quiet",
                                           "--dropout",
                                           "0.1"};
  auto argv_for = [&](const std::string& out, bool resume) {
    std::vector<std::string> a = common;
    a.push_back("--out");
    a.push_back(out);
    if (resume) a.push_back("--resume");
    return a;
  };
  auto spawn = [](const std::vector<std::string>& a) {
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv = {const_cast<char*>(BIGBIRD_CLI)};
      for (const std::string& s : a) argv.push_back(const_cast<char*>(s.c_str()));
      argv.push_back(nullptr);
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execv(BIGBIRD_CLI, argv.data());
      _exit(127);
    }
    return pid;
  };
  auto wait_exit = [](pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };

  // The uninterrupted reference run.
  const pid_t ref = spawn(argv_for(dir + "/ref", false));
  ASSERT_EQ(wait_exit(ref), 0);

  // The same run, killed with SIGKILL after it has gone past a checkpoint.
  const pid_t victim = spawn(argv_for(dir + "/run", false));
  int64_t killed_after = 0, checkpoint = 0;
  for (int i = 0; i < 30000; ++i) {
    checkpoint = latest_step(dir + "/run");
    killed_after = max_logged_step(dir + "/run/metrics.jsonl");
    if (checkpoint > 0 && killed_after > checkpoint) break;
    usleep(1000);
  }
  kill(victim, SIGKILL);
  const int status = wait_exit(victim);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  killed_after = max_logged_step(dir + "/run/metrics.jsonl");
  checkpoint = latest_step(dir + "/run");
  std::printf("  killed after step %lld, latest checkpoint step %lld\n", (long long)killed_after,
              (long long)checkpoint);
  ASSERT_GT(checkpoint, 0);
  ASSERT_LT(checkpoint, 30);
  ASSERT_GT(killed_after, checkpoint) << "not killed between checkpoints";

  const pid_t resumed = spawn(argv_for(dir + "/run", true));
  ASSERT_EQ(wait_exit(resumed), 0);

  const std::vector<double> a = train_losses(dir + "/ref/metrics.jsonl"), b = train_losses(dir + "/run/metrics.jsonl");
  ASSERT_EQ(a.size(), 30u);
  ASSERT_EQ(b.size(), 30u) << "the resumed log continues from the checkpoint without gaps or repeats";
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "loss of step " << i + 1;
  EXPECT_EQ(bbtest::read_file_or_empty(dir + "/ref/model/model.safetensors"),
            bbtest::read_file_or_empty(dir + "/run/model/model.safetensors"))
      << "final weights differ";
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);  // kept on failure
}

TEST(Finetune, BadInputIsOneClearError) {
  const std::string dir = bbtest::scratch_dir("bad");
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 3);
  bbtest::write_text(dir + "/bad.csv", "text,label\nfine,pos\n\"broken,neg\n");
  bbtest::write_text(dir + "/train.csv", "text,label\na,pos\nb,neg\n");
  bbtest::write_text(dir + "/eval.csv", "text,label\nc,pos\nd,other\n");
  bbtest::write_text(dir + "/empty.csv", "text,label\n");
  const std::string base =
      "finetune --task cls --model " + dir + "/base --tokenizer " + kTokenizer + " --out " + dir + "/out ";
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--train " + dir + "/bad.csv", "bad.csv:3: malformed CSV row"},
      {"--train " + dir + "/train.csv --eval " + dir + "/eval.csv",
       "eval.csv:3: label \"other\" is not in the label set"},
      {"--train " + dir + "/empty.csv", "empty dataset"},
      {"--train " + dir + "/missing.csv", "missing.csv"},
      {"--train " + dir + "/train.csv --task summarize", "BigBird-Pegasus"},
      {"--train " + dir + "/train.csv --resume", "no checkpoint to resume from"},
  };
  for (const Case& c : cases) {
    const std::string log = dir + "/err.txt";
    EXPECT_EQ(bbtest::run_cli(base + c.args, log), 1) << c.args;
    const std::string text = bbtest::read_file_or_empty(log);
    EXPECT_NE(text.find(c.expect), std::string::npos) << c.args << "\n" << text;
  }
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);  // kept on failure
}

}  // namespace

namespace {

// A small SQuAD file: "<name> lives in <city>." facts inside filler sentences, some unanswerable questions.
std::string synthetic_squad(int paragraphs, uint64_t seed) {
  const std::vector<std::string> names = {"Emma", "Harriet", "Jane", "Frank", "Robert", "Isabella"};
  const std::vector<std::string> cities = {"Bath", "London", "Highbury", "Bristol", "York", "Kent"};
  nlohmann::json data = nlohmann::json::array();
  for (int p = 0; p < paragraphs; ++p) {
    const uint64_t h = bbtest::mix64(seed * 131 + uint64_t(p));
    const std::string name = names[h % names.size()], city = cities[(h >> 8) % cities.size()];
    std::string context = "It was a fine day and the garden was quiet. ";
    const size_t answer_start = context.size() + name.size() + 10;
    context += name + " lives in " + city + ". The roads were long and the weather was mild.";
    nlohmann::json qas = nlohmann::json::array();
    qas.push_back({{"id", "q" + std::to_string(p)},
                   {"question", "Where does " + name + " live?"},
                   {"answers", {{{"text", city}, {"answer_start", answer_start}}}}});
    if (p % 4 == 0)
      qas.push_back({{"id", "n" + std::to_string(p)},
                     {"question", "Who wrote the letter?"},
                     {"answers", nlohmann::json::array()},
                     {"is_impossible", true}});
    data.push_back({{"title", "t"}, {"paragraphs", {{{"context", context}, {"qas", qas}}}}});
  }
  return nlohmann::json({{"version", "v2.0"}, {"data", data}}).dump();
}

TEST(Finetune, QuestionAnsweringRunsWithSquadMetrics) {
  const std::string dir = bbtest::scratch_dir("qa");
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 4);
  bbtest::write_text(dir + "/train.json", synthetic_squad(120, 1));
  bbtest::write_text(dir + "/dev.json", synthetic_squad(20, 2));
  const std::string args = "finetune --task qa --model " + dir + "/base --train " + dir + "/train.json --eval " + dir +
                           "/dev.json --out " + dir + "/out --tokenizer " + kTokenizer +
                           " --steps 40 --batch-size 8 --lr 3e-3 --max-length 64 --threads 2";
  ASSERT_EQ(bbtest::run_cli(args, dir + "/log.txt"), 0) << bbtest::read_file_or_empty(dir + "/log.txt");
  const std::vector<double> losses = train_losses(dir + "/out/metrics.jsonl");
  ASSERT_EQ(losses.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += losses[size_t(i)] / 5;
    last += losses[losses.size() - 1 - size_t(i)] / 5;
  }
  const nlohmann::json eval = bbtest::read_jsonl(dir + "/out/metrics.jsonl").back();
  ASSERT_EQ(eval["event"], "eval");
  std::printf("  QA loss %.3f -> %.3f; eval EM %.1f F1 %.1f\n", first, last, double(eval["eval_exact_match"]),
              double(eval["eval_f1"]));
  EXPECT_LT(last, first);
  EXPECT_GE(double(eval["eval_f1"]), double(eval["eval_exact_match"]));
  BigBirdModel exported = BigBirdModel::load(dir + "/out/model");
  EXPECT_TRUE(exported.has_head(Head::QuestionAnswering));
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

}  // namespace
