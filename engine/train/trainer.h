#pragma once
// The fine-tuning loop: data -> micro-batches -> forward/backward -> (accumulate) -> clip ->
// optimizer step with the schedule's learning rate; evaluation every N steps; checkpoints every N
// steps and at the end; final export as an HF model directory.
//
// Exact resume: everything random is a pure function of (seed, step): the data order (one seeded
// permutation per epoch; micro-batch g takes positions [g·B, (g+1)·B) of the concatenated epochs),
// MLM masking and dropout masks. The model, the optimizer moments and the loss history are in the
// checkpoint, so a resumed run continues the uninterrupted one bit for bit.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/train/data/examples.h"
#include "engine/train/data/text_table.h"
#include "engine/train/lr_schedule.h"
#include "engine/train/optimizer.h"

namespace bb::train {

class StepRunner;

struct TrainerConfig {
  Task task = Task::Classification;
  std::string model_dir, out_dir, train_file, eval_file;
  // Pre-training from scratch: HF-style random weights (seeded by `seed`) for the config in
  // config_file (default <model_dir>/config.json); any model.safetensors there is ignored.
  bool init_random = false;
  std::string config_file;
  // Evaluate on eval_file and stop: no training, nothing written (train_file and out_dir unused).
  bool eval_only = false;
  std::string tokenizer;  // empty: <model>/spiece.model | vocab.txt, else resources/vocab/gpt2.model
  TableFormat format = TableFormat::Auto;
  std::string text_column = "text", label_column = "label";
  std::vector<std::string> labels;  // classification label set (empty: from the training file)
  int64_t max_length = 512;
  int64_t max_target_length = 128;  // summarize: summary tokens (labels, EOS included)
  int64_t rouge_examples = 8;       // summarize: evaluation examples decoded greedily for ROUGE (0: all)
  int64_t batch_size = 8;
  int64_t grad_accum = 1;
  int64_t max_steps = 0;  // optimizer steps; 0: derived from epochs
  double epochs = 3.0;
  int64_t eval_every = 0;         // 0: evaluate at the end only
  int64_t save_every = 0;         // 0: checkpoint at the end only
  double eval_split = 0.1;        // held-out share of the training file when there is no eval file
  int64_t max_eval_examples = 0;  // 0: all
  OptimizerConfig optimizer;
  ScheduleConfig schedule;     // lr, warmup, kind (total steps filled in by the trainer)
  double max_grad_norm = 1.0;  // <= 0: no clipping
  bool gradient_checkpointing = false;
  std::optional<attn::AttentionType> attention_type;
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
  float hidden_dropout = -1, attention_dropout = -1, head_dropout = -1;  // < 0: the config's
  uint64_t seed = 42;
  double mask_probability = 0.15;   // MLM
  bool whole_word_masking = false;  // MLM
  int64_t doc_stride = 3072;        // QA
  int64_t max_answer_length = 30;   // QA (tokens)
  bool resume = false;              // continue from <out>/checkpoints/latest
  int keep_checkpoints = 2;         // 0: keep all
  bool export_model = true;         // <out>/model at the end (HF layout)
  int64_t stop_after_step = 0;      // tests: stop (as if killed) after this step; 0: never
  // Where each optimizer step runs (engine/train/step_runner.h); empty: the CPU. The CLI installs
  // backend::make_train_step_runner for --backend vulkan|auto.
  std::function<std::unique_ptr<StepRunner>()> make_step_runner;
};

struct TrainingEvent {
  enum class Kind { Started, Step, Eval, Checkpoint, Paused, Resumed, Finished, Cancelled, Failed };
  Kind kind = Kind::Step;
  int64_t step = 0, total_steps = 0;
  double epoch = 0.0;
  double loss = 0.0, lr = 0.0, grad_norm = 0.0;
  double tokens_per_s = 0.0, elapsed_s = 0.0, eta_s = 0.0;
  int64_t rss_bytes = 0;                  // peak resident memory of the process so far
  std::map<std::string, double> metrics;  // Eval: eval_loss, eval_accuracy, ...
  std::string message;                    // Started / Checkpoint / Finished / Failed: details; Step: where it ran
};
std::string to_string(TrainingEvent::Kind k);

// How the caller steers a running trainer (the job API fills this in; all optional).
struct TrainerControl {
  std::function<void(const TrainingEvent&)> on_event;
  std::function<bool()> cancelled;          // checked between micro-batches
  std::function<void()> wait_while_paused;  // called between steps; blocks while paused
};

struct TrainingSummary {
  int64_t steps = 0;
  bool cancelled = false;
  std::vector<double> losses;
  std::map<std::string, double> final_metrics;
  std::string export_dir, last_checkpoint;
};

// Runs to completion (or cancellation); throws bb::Error on bad data, bad settings or I/O failure.
TrainingSummary run_training(const TrainerConfig& config, const TrainerControl& control = {});

int64_t peak_rss_bytes();

}  // namespace bb::train
