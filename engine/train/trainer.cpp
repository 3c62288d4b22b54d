#include "engine/train/trainer.h"

#include <sys/resource.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/json_strict.h"
#include "engine/train/dropout.h"
#include "engine/train/step_runner.h"
#include "engine/train/summarization_trainer.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"
#include "engine/train/trainer_data.h"
#include "engine/train/trainer_eval.h"
#include "engine/train/training_loop.h"

namespace bb::train {

namespace fs = std::filesystem;

std::string to_string(TrainingEvent::Kind k) {
  switch (k) {
    case TrainingEvent::Kind::Started:
      return "started";
    case TrainingEvent::Kind::Step:
      return "step";
    case TrainingEvent::Kind::Eval:
      return "eval";
    case TrainingEvent::Kind::Checkpoint:
      return "checkpoint";
    case TrainingEvent::Kind::Paused:
      return "paused";
    case TrainingEvent::Kind::Resumed:
      return "resumed";
    case TrainingEvent::Kind::Finished:
      return "finished";
    case TrainingEvent::Kind::Cancelled:
      return "cancelled";
    case TrainingEvent::Kind::Failed:
      return "failed";
  }
  return "?";
}

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;
}

namespace {

Head head_for(Task t) {
  switch (t) {
    case Task::Classification:
      return Head::SequenceClassification;
    case Task::QuestionAnswering:
      return Head::QuestionAnswering;
    case Task::MaskedLM:
      return Head::MaskedLM;
    case Task::Summarization:
      break;
  }
  throw Error("--task summarize runs in the summarization trainer (BigBird-Pegasus), not with a BigBird head");
}

std::vector<std::string> eval_columns(Task t) {
  switch (t) {
    case Task::Classification:
      return {"eval_loss", "eval_accuracy", "eval_macro_f1", "eval_f1"};
    case Task::QuestionAnswering:
      return {"eval_loss", "eval_exact_match", "eval_f1"};
    case Task::MaskedLM:
      return {"eval_loss", "eval_accuracy"};
    case Task::Summarization:
      break;
  }
  return {"eval_loss"};
}

// BigBird's part of the run fingerprint (training_loop.cpp has the shared part).
void add_bigbird_fingerprint(nlohmann::json& j, const TrainerConfig& c, const TaskData& d) {
  j["tokenizer"] = fs::absolute(d.tokenizer_path).string();
  j["labels"] = d.labels;
  j["dropout"] = {c.hidden_dropout, c.attention_dropout, c.head_dropout};
  j["mask_probability"] = c.mask_probability;
  j["whole_word"] = c.whole_word_masking;
  if (c.init_random) j["init"] = "random:" + fs::absolute(c.config_file.empty() ? c.model_dir : c.config_file).string();
}

std::string tokenizer_file_name(const std::string& tokenizer_path) {
  return fs::path(tokenizer_path).extension() == ".txt" ? "vocab.txt" : "spiece.model";
}

std::string config_path(const TrainerConfig& c) {
  if (!c.config_file.empty()) return c.config_file;
  if (c.model_dir.empty()) throw Error("no model given (a model directory, or a config file with random init)");
  return (fs::path(c.model_dir) / "config.json").string();
}

TrainableBigBird load_model(const TrainerConfig& c, const std::optional<std::string>& resume_dir,
                            const ModelConfig& config, Head head, const std::map<int, std::string>& id2label) {
  if (resume_dir) return TrainableBigBird::load(*resume_dir, head, c.seed, id2label);
  if (c.init_random) {
    ModelConfig fresh_config = config;
    if (!id2label.empty()) fresh_config.id2label = id2label;
    return TrainableBigBird::fresh(std::move(fresh_config), head, c.seed, config_path(c));
  }
  return TrainableBigBird::load(c.model_dir, head, c.seed, id2label, /*allow_fresh=*/true);
}

std::map<int, std::string> id2label(const TaskData& d) {
  std::map<int, std::string> m;
  for (size_t i = 0; i < d.labels.size(); ++i) m[int(i)] = d.labels[i];
  return m;
}

// --eval-only: the model's metrics on the evaluation data, as the end-of-training evaluation.
TrainingSummary run_evaluation_only(const TrainerConfig& c, const EventPublisher& publish) {
  if (c.eval_file.empty()) throw Error("evaluation only needs an evaluation file (--eval)");
  TrainerConfig ec = c;
  ec.train_file = c.eval_file;  // the loaders need a training set; it is not used
  const Head head = head_for(c.task);
  const ModelConfig config = load_config(config_path(c));
  TaskData data = load_task_data(ec, config.vocab_size);
  if (data.eval.empty()) throw Error(c.eval_file + ": no evaluation examples");
  TrainableBigBird model = load_model(c, std::nullopt, config, head, id2label(data));
  TrainingEvent started;
  started.kind = TrainingEvent::Kind::Started;
  started.message = "evaluating " + model.params().source() + " on " + std::to_string(data.eval.size()) +
                    " examples of " + c.eval_file;
  publish(started);
  return publish_evaluation_only(publish, evaluate(model, data, c));
}

// A BigBird encoder task (classification, QA, MLM) for the shared loop; its optimizer steps run on
// the StepRunner of TrainerConfig::make_step_runner (the CPU by default).
class BigBirdTask : public TrainingTask {
 public:
  BigBirdTask(const TrainerConfig& c, const std::optional<std::string>& resume_dir)
      : c_(c),
        base_config_(load_config(config_path(c))),
        data_(load_task_data(c, base_config_.vocab_size)),
        fresh_(!resume_dir && (c.init_random || !fs::exists(fs::path(c.model_dir) / "model.safetensors"))),
        model_(load_model(c, resume_dir, base_config_, head_for(c.task), id2label(data_))) {
    so_.attention_type = c.attention_type;
    so_.random_blocks = c.random_blocks;
    so_.hidden_dropout = c.hidden_dropout;
    so_.attention_dropout = c.attention_dropout;
    so_.head_dropout = c.head_dropout;
    so_.dropout_seed = c.seed;
    so_.gradient_checkpointing = c.gradient_checkpointing;
    so_.grad_scale = float(1.0 / double(c.grad_accum));
    runner_ = c.make_step_runner ? c.make_step_runner() : std::make_unique<CpuStepRunner>();
  }

  int64_t train_examples() const override { return int64_t(data_.train.size()); }
  int64_t eval_examples() const override { return int64_t(data_.eval.size()); }
  std::string example_noun() const override { return "examples"; }
  std::string started_note() const override { return fresh_ ? ", starting from fresh random weights" : ""; }
  std::vector<std::string> eval_columns() const override { return train::eval_columns(c_.task); }
  void add_fingerprint(nlohmann::json& j) const override { add_bigbird_fingerprint(j, c_, data_); }
  StopAfterStep stop_rule() const override { return StopAfterStep::BeforeNextStep; }

  OptimizerStepResult step(const TaskStep& t) override {
    OptimizerStep req;
    req.model = &model_;
    req.optimizer = t.optimizer;
    req.micro_batches = t.micro_batches;
    req.batch = [&](int64_t micro) {
      const int64_t g = t.step * t.micro_batches + micro;
      std::vector<const Example*> rows;
      for (int64_t i : t.order->batch(g)) rows.push_back(&data_.train[size_t(i)]);
      TrainBatch batch = collate(rows, c_.task, data_.pad_id);
      if (c_.task == Task::MaskedLM)
        apply_masking(batch, rows, data_.masking, dropout_key(c_.seed, 0x4D4C4D, uint64_t(g)));
      return batch;
    };
    so_.step = uint64_t(t.step);
    req.options = so_;
    req.lr = t.lr;
    req.max_grad_norm = t.max_grad_norm;
    req.cancelled = t.cancelled;
    return runner_->run(req);
  }

  std::map<std::string, double> evaluate() override { return train::evaluate(model_, data_, c_); }
  void save_model(const std::string& dir) const override { model_.save_pretrained(dir); }
  void export_model(const std::string& dir) const override {
    model_.save_pretrained(dir);
    copy_tokenizer(data_.tokenizer_path, dir, tokenizer_file_name(data_.tokenizer_path));
  }

 private:
  const TrainerConfig& c_;
  const ModelConfig base_config_;
  TaskData data_;
  const bool fresh_;
  TrainableBigBird model_;
  StepOptions so_;
  std::unique_ptr<StepRunner> runner_;
};

}  // namespace

TrainingSummary run_training(const TrainerConfig& c, const TrainerControl& control) {
  if (c.task == Task::Summarization) return run_summarization_training(c, control);
  const EventPublisher publish(control);
  if (c.eval_only) return run_evaluation_only(c, publish);
  return run_training_loop(c, control, publish, [&](const std::optional<std::string>& resume_dir) {
    return std::make_unique<BigBirdTask>(c, resume_dir);
  });
}

}  // namespace bb::train
