// The job API (start / progress events / pause / resume / cancel, never blocking the caller) and
// checkpoint safety: a save that fails half-way (disk full) leaves the previous checkpoint intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/jobs/training_job.h"
#include "engine/train/checkpoint.h"
#include "tests/engine/train/finetune_test_util.h"

using namespace bb;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

train::TrainerConfig small_cls_run(const std::string& dir, int64_t steps) {
  bbtest::write_model_dir(dir + "/base", bbtest::small_gpt2_vocab_config(), 9);
  bbtest::write_text(dir + "/train.csv", bbtest::synthetic_classification_csv(200, 4));
  train::TrainerConfig c;
  c.task = train::Task::Classification;
  c.model_dir = dir + "/base";
  c.train_file = dir + "/train.csv";
  c.out_dir = dir + "/out";
  c.tokenizer = std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/gpt2.model";
  c.max_steps = steps;
  c.batch_size = 8;
  c.max_length = 48;
  c.schedule.lr = 1e-3;
  c.export_model = false;
  return c;
}

using Kind = train::TrainingEvent::Kind;

TEST(TrainingJob, StartPauseResumeCancelWithoutBlocking) {
  const std::string dir = bbtest::scratch_dir("job");
  const train::TrainerConfig c = small_cls_run(dir, 100000);
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<jobs::TrainingJob> job = jobs::TrainingJob::start(c);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms) << "start() must return at once";

  // Progress events arrive with the step's numbers.
  std::vector<train::TrainingEvent> events;
  for (int i = 0; i < 600 && job->last_step().step < 3; ++i) std::this_thread::sleep_for(10ms);
  for (auto& e : job->poll()) events.push_back(e);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, Kind::Started);
  const train::TrainingEvent step = job->last_step();
  ASSERT_GE(step.step, 3);
  EXPECT_EQ(step.total_steps, 100000);
  EXPECT_GT(step.loss, 0.0);
  EXPECT_GT(step.lr, 0.0);
  EXPECT_GT(step.tokens_per_s, 0.0);
  EXPECT_GT(step.eta_s, 0.0);
  EXPECT_GT(step.rss_bytes, 0);

  // Pause: returns at once, the trainer stops at the next step boundary.
  auto t1 = std::chrono::steady_clock::now();
  job->pause();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 50ms);
  for (int i = 0; i < 600 && job->state() != jobs::JobState::Paused; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(job->state(), jobs::JobState::Paused);
  const int64_t paused_at = job->last_step().step;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(job->last_step().step, paused_at) << "no steps while paused";

  job->resume();
  for (int i = 0; i < 600 && job->last_step().step <= paused_at + 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(job->last_step().step, paused_at);

  t1 = std::chrono::steady_clock::now();
  job->cancel();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 50ms);
  ASSERT_TRUE(job->wait(30s));
  EXPECT_EQ(job->state(), jobs::JobState::Cancelled);
  bool paused = false, resumed = false, cancelled = false;
  for (auto& e : job->poll()) {
    paused |= e.kind == Kind::Paused;
    resumed |= e.kind == Kind::Resumed;
    cancelled |= e.kind == Kind::Cancelled;
  }
  EXPECT_TRUE(paused && resumed && cancelled);
  EXPECT_TRUE(job->summary().cancelled);
  job.reset();
  fs::remove_all(dir);
}

TEST(TrainingJob, CancelWhilePausedAndDestroyWhileRunning) {
  const std::string dir = bbtest::scratch_dir("job2");
  std::unique_ptr<jobs::TrainingJob> job = jobs::TrainingJob::start(small_cls_run(dir, 100000));
  job->pause();
  for (int i = 0; i < 600 && job->state() != jobs::JobState::Paused; ++i) std::this_thread::sleep_for(10ms);
  job->cancel();
  ASSERT_TRUE(job->wait(30s));
  EXPECT_EQ(job->state(), jobs::JobState::Cancelled);
  // Destroying a running job cancels and joins it.
  std::unique_ptr<jobs::TrainingJob> running = jobs::TrainingJob::start(small_cls_run(dir, 100000));
  std::this_thread::sleep_for(100ms);
  running.reset();
  fs::remove_all(dir);
}

TEST(TrainingJob, FailureIsReportedNotThrown) {
  const std::string dir = bbtest::scratch_dir("job3");
  train::TrainerConfig c = small_cls_run(dir, 10);
  c.train_file = dir + "/does-not-exist.csv";
  std::vector<train::TrainingEvent> seen;
  std::mutex mu;
  std::unique_ptr<jobs::TrainingJob> job = jobs::TrainingJob::start(c, [&](const train::TrainingEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(e);
  });
  ASSERT_TRUE(job->wait(30s));
  EXPECT_EQ(job->state(), jobs::JobState::Failed);
  EXPECT_NE(job->error().find("does-not-exist.csv"), std::string::npos) << job->error();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().kind, Kind::Failed);
  fs::remove_all(dir);
}

TEST(TrainingJob, FinishedRunHasMetricsCheckpointAndExport) {
  const std::string dir = bbtest::scratch_dir("job4");
  train::TrainerConfig c = small_cls_run(dir, 6);
  c.save_every = 3;
  c.eval_every = 3;
  c.export_model = true;
  std::unique_ptr<jobs::TrainingJob> job = jobs::TrainingJob::start(c);
  ASSERT_TRUE(job->wait(120s));
  ASSERT_EQ(job->state(), jobs::JobState::Finished) << job->error();
  const train::TrainingSummary s = job->summary();
  EXPECT_EQ(s.steps, 6);
  EXPECT_EQ(s.losses.size(), 6u);
  EXPECT_TRUE(s.final_metrics.count("eval_accuracy"));
  EXPECT_TRUE(fs::exists(dir + "/out/model/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/out/checkpoints/step-00000006/optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/out/checkpoints/step-00000003/model.safetensors"));
  EXPECT_EQ(bbtest::read_file_or_empty(dir + "/out/checkpoints/latest"), "step-00000006\n");
  int evals = 0;
  for (const nlohmann::json& r : bbtest::read_jsonl(dir + "/out/metrics.jsonl")) evals += r["event"] == "eval";
  EXPECT_EQ(evals, 2);
  fs::remove_all(dir);
}

// Disk full while saving: RLIMIT_FSIZE makes write() fail part-way (EFBIG), as ENOSPC would.
TEST(Checkpoint, FullDiskKeepsThePreviousCheckpoint) {
  const std::string dir = bbtest::scratch_dir("ckpt");
  bb::ModelConfig cfg = bbtest::tiny_config();
  train::TrainableBigBird m(cfg, bbtest::tiny_parameters(cfg, 1), Head::MaskedLM);
  train::Optimizer opt{train::OptimizerConfig{}};
  m.zero_grads();
  opt.step(m.params(), m.grads(), 1e-3);
  train::TrainerState state;
  state.step = 1;
  state.losses = {1.5};
  const std::string first = train::save_checkpoint(dir, m, opt, state);
  const std::string first_model = bbtest::read_file_or_empty(first + "/model.safetensors");

  state.step = 2;
  m.params().mutable_get("cls.predictions.bias")[0] += 1.0f;
  signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  getrlimit(RLIMIT_FSIZE, &saved);
  rlimit small = saved;
  small.rlim_cur = 20000;  // smaller than model.safetensors
  setrlimit(RLIMIT_FSIZE, &small);
  std::string error;
  try {
    train::save_checkpoint(dir, m, opt, state);
  } catch (const Error& e) {
    error = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  EXPECT_NE(error.find("saving checkpoint step-00000002 failed"), std::string::npos) << error;
  EXPECT_NE(error.find("step-00000001 is intact"), std::string::npos) << error;
  ASSERT_EQ(train::latest_checkpoint(dir).value_or(""), first);
  EXPECT_EQ(bbtest::read_file_or_empty(first + "/model.safetensors"), first_model);
  EXPECT_FALSE(fs::exists(dir + "/checkpoints/step-00000002"));
  for (const auto& entry : fs::directory_iterator(dir + "/checkpoints"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "temporary left behind";

  // The intact checkpoint restores the optimizer and the trainer state.
  train::Optimizer restored{train::OptimizerConfig{}};
  const train::LoadedCheckpoint ck = train::load_checkpoint_state(first, restored);
  EXPECT_EQ(ck.state.step, 1);
  EXPECT_EQ(ck.state.losses, std::vector<double>{1.5});
  EXPECT_EQ(restored.steps(), 1);
  EXPECT_EQ(restored.m().size(), opt.m().size());
  fs::remove_all(dir);
}

}  // namespace
