#pragma once
// The training loop shared by every model family (trainer.h's contract): schedule, optimizer,
// evaluation cadence, checkpoints with exact resume, cancel / pause, stop_after_step, step events,
// the metrics log and the final export. What differs per family (model, data, the optimizer step
// itself, evaluation, what a checkpoint and the export hold) sits behind TrainingTask:
// trainer.cpp implements it for BigBird encoder tasks, summarization_trainer.cpp for Pegasus.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/train/step_runner.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::train {

// Stamps elapsed time (since construction) and peak memory on an event, hands it to the caller.
class EventPublisher {
 public:
  explicit EventPublisher(const TrainerControl& control) : control_(control) {}
  TrainingEvent operator()(TrainingEvent e) const;

 private:
  const TrainerControl& control_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// When TrainerConfig::stop_after_step ends a run. BigBird checks before every step (so a run resumed
// at or past that step stops at once, and a run whose last step it is still finishes); Pegasus
// checks right after the step that reaches it (also the last one, before the final evaluation).
enum class StopAfterStep { BeforeNextStep, RightAfterStep };

// One optimizer step of the run: zero the gradients, forward + backward over micro-batches
// g = step·micro_batches + micro (accumulating; its examples are order->batch(g)), clip to
// max_grad_norm, update with lr.
struct TaskStep {
  int64_t step = 0, micro_batches = 1;
  const BatchOrder* order = nullptr;
  double lr = 0.0, max_grad_norm = 1.0;
  Optimizer* optimizer = nullptr;
  std::function<bool()> cancelled;  // checked before every micro-batch after the first
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual int64_t train_examples() const = 0;
  virtual int64_t eval_examples() const = 0;
  // The Started event's words: "<n> training / <m> evaluation <noun>, ..." and a closing note.
  virtual std::string example_noun() const = 0;
  virtual std::string started_note() const { return ""; }
  virtual std::vector<std::string> eval_columns() const = 0;
  // The settings a resumed run must share with the run that wrote the checkpoint: the loop fills in
  // the files, schedule, optimizer and attention settings; the task adds its tokenizer and its own.
  virtual void add_fingerprint(nlohmann::json& j) const = 0;
  virtual StopAfterStep stop_rule() const = 0;
  // ran_on of the result becomes the Step event's message.
  virtual OptimizerStepResult step(const TaskStep& step) = 0;
  virtual std::map<std::string, double> evaluate() = 0;
  // config.json + model.safetensors of the current model into dir (checkpoints).
  virtual void save_model(const std::string& dir) const = 0;
  // The final export: the model in HF layout and its tokenizer.
  virtual void export_model(const std::string& dir) const = 0;
};

// Loads the model (from resume_dir when resuming) and the data.
using TrainingTaskLoader = std::function<std::unique_ptr<TrainingTask>(const std::optional<std::string>& resume_dir)>;

// Runs the loop to completion (or cancellation) on the task the loader returns; throws bb::Error on
// bad settings, a checkpoint of another run, or I/O failure.
TrainingSummary run_training_loop(const TrainerConfig& c, const TrainerControl& control,
                                  const EventPublisher& publish, const TrainingTaskLoader& load);

// --eval-only's end: publishes the Eval event with `metrics`, then Finished ("evaluation only").
TrainingSummary publish_evaluation_only(const EventPublisher& publish, std::map<std::string, double> metrics);

// Copies the tokenizer into an exported model directory as `name` (spiece.model, vocab.txt).
void copy_tokenizer(const std::string& tokenizer_path, const std::string& dir, const std::string& name);

}  // namespace bb::train
