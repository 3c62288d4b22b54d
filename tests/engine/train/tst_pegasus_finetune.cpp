// Summarization fine-tuning of BigBird-Pegasus through the trainer and the job API: a tiny random
// Pegasus (the real pegasus.model vocabulary) overfits four (document, summary) pairs — the loss falls
// by orders of magnitude and greedy decoding reproduces every reference summary — then an interrupted
// run resumes from its checkpoint and reproduces the uninterrupted losses bit for bit, the exported
// model loads for inference, and `bigbird finetune --task summarize` runs the same from the CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"
#include "engine/models/pegasus_random_weights.h"
#include "engine/train/trainer.h"
#include "tests/engine/train/finetune_test_util.h"

using namespace bb;
namespace fs = std::filesystem;

namespace {

const std::string kPegasusVocab = std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/pegasus.model";

// pegasus-tiny (d 32, 2+2 layers, vocabulary 96103) with HF-style std-0.02 weights and its tokenizer.
std::string tiny_pegasus_model(const std::string& dir) {
  const std::string m = dir + "/model";
  fs::create_directories(m);
  const ModelConfig c = pegasus_shape_config("pegasus-tiny");
  io::write_file_atomic(m + "/config.json", config_to_json(c));
  const ParameterStore p = random_pegasus_parameters(c, 5);
  io::SafetensorsWriter w;
  for (const std::string& n : p.names()) w.add(n, p.get(n));
  w.write(m + "/model.safetensors");
  fs::copy_file(kPegasusVocab, m + "/spiece.model");
  return m;
}

std::string four_summaries(const std::string& dir) {
  const std::string f = dir + "/train.jsonl";
  bbtest::write_text(
      f,
      R"({"document": "The city council met on Tuesday and voted to build a new bridge over the river next spring.", "summary": "Council approves new bridge."}
{"document": "Heavy rain flooded several streets downtown, and the fire brigade pumped water out of cellars all night.", "summary": "Rain floods downtown streets."}
{"document": "The local football team won the regional cup after a late goal in the final minute of extra time.", "summary": "Team wins regional cup."}
{"document": "Scientists at the university found a new species of frog living in the forest north of the lake.", "summary": "New frog species found."}
)");
  return f;
}

train::TrainerConfig overfit_config(const std::string& model, const std::string& data, const std::string& out) {
  train::TrainerConfig c;
  c.task = train::Task::Summarization;
  c.model_dir = model;
  c.train_file = data;
  c.eval_file = data;
  c.out_dir = out;
  c.max_length = 64;
  c.max_target_length = 16;
  c.batch_size = 4;
  c.max_steps = 60;
  c.schedule.lr = 1e-2;
  c.schedule.kind = train::parse_schedule("constant");
  c.optimizer.weight_decay = 0.0;
  c.max_grad_norm = 1.0;
  c.seed = 3;
  c.hidden_dropout = 0.0f;  // memorise quickly (the command-line test trains with the config's 0.1)
  return c;
}

TEST(PegasusFinetune, OverfitsFourSummariesResumesExactlyAndExports) {
  const std::string dir = bbtest::scratch_dir("pegasus-ft");
  const std::string model = tiny_pegasus_model(dir), data = four_summaries(dir);

  const train::TrainerConfig c = overfit_config(model, data, dir + "/full");
  const train::TrainingSummary full = train::run_training(c);
  ASSERT_EQ(full.steps, c.max_steps);
  const double first = full.losses.front(), last = full.losses.back();
  std::printf("  loss %.4f -> %.4f; ROUGE-1 %.1f, exact %.0f%%\n", first, last, full.final_metrics.at("eval_rouge1"),
              full.final_metrics.at("eval_exact_match"));
  EXPECT_GT(first, 10.0);         // ln(96103) = 11.5 for an untrained model
  EXPECT_LT(last, 0.05 * first);  // memorised
  EXPECT_EQ(full.final_metrics.at("eval_exact_match"), 100.0);  // every summary reproduced greedily
  EXPECT_EQ(full.final_metrics.at("eval_rouge1"), 100.0);
  EXPECT_EQ(full.final_metrics.at("eval_rougeL"), 100.0);

  // A 12-step run interrupted after step 8 (checkpoint at 5) and resumed gives the losses of the
  // uninterrupted run to the last digit (constant rate and a data order independent of the run length,
  // so those are the first 12 losses of the 60-step run).
  train::TrainerConfig part = overfit_config(model, data, dir + "/part");
  part.max_steps = 12;
  part.save_every = 5;
  part.stop_after_step = 8;
  EXPECT_TRUE(train::run_training(part).cancelled);
  part.stop_after_step = 0;
  part.resume = true;
  const train::TrainingSummary resumed = train::run_training(part);
  ASSERT_EQ(resumed.losses.size(), 12u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(resumed.losses[i], full.losses[i]) << "step " << i + 1;

  // The export is an HF directory that loads for inference, with the tokenizer.
  ASSERT_FALSE(full.export_dir.empty());
  EXPECT_TRUE(fs::exists(full.export_dir + "/spiece.model"));
  const PegasusModel exported = PegasusModel::load(full.export_dir);
  EXPECT_EQ(exported.config().architectures, std::vector<std::string>{"BigBirdPegasusForConditionalGeneration"});
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

TEST(PegasusFinetune, CommandLineRunAndBadInput) {
  const std::string dir = bbtest::scratch_dir("pegasus-ft-cli");
  const std::string model = tiny_pegasus_model(dir), data = four_summaries(dir);
  const std::string base = "finetune --task summarize --model " + model + " --train " + data + " --eval " + data +
                           " --max-length 64 --max-target-length 16 --batch-size 4 --lr 1e-2 --threads 2 --quiet ";
  const std::string log = dir + "/log.txt";
  ASSERT_EQ(bbtest::run_cli(base + "--steps 3 --out " + dir + "/out", log), 0) << bbtest::read_file_or_empty(log);
  const std::string text = bbtest::read_file_or_empty(log);
  EXPECT_NE(text.find("eval_rouge1"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir + "/out/model/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/out/metrics.jsonl"));

  bbtest::write_text(dir + "/bad.jsonl", "{\"document\": \"a text\", \"summary\": \"ok\"}\n{\"document\": \"no summary\"}\n");
  EXPECT_EQ(bbtest::run_cli("finetune --task summarize --model " + model + " --train " + dir + "/bad.jsonl --out " +
                                dir + "/out2 --quiet",
                            log),
            1);
  EXPECT_NE(bbtest::read_file_or_empty(log).find("bad.jsonl:2"), std::string::npos) << bbtest::read_file_or_empty(log);
  if (!HasFailure() && !std::getenv("BB_KEEP_TEST_DIRS")) fs::remove_all(dir);
}

}  // namespace
