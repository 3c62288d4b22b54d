#include "engine/train/trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/json_strict.h"
#include "engine/train/checkpoint.h"
#include "engine/train/dropout.h"
#include "engine/train/metrics_log.h"
#include "engine/train/summarization_trainer.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"
#include "engine/train/trainer_data.h"
#include "engine/train/trainer_eval.h"

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

using Clock = std::chrono::steady_clock;

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

int64_t file_size_or(const std::string& p) {
  std::error_code ec;
  const auto s = fs::file_size(p, ec);
  return ec ? -1 : int64_t(s);
}

// The settings a resumed run must share with the run that wrote the checkpoint.
std::string fingerprint(const TrainerConfig& c, int64_t total_steps, const TaskData& d) {
  nlohmann::json j;
  j["task"] = to_string(c.task);
  j["train_file"] = fs::absolute(c.train_file).string();
  j["train_bytes"] = file_size_or(c.train_file);  // -1 for a directory (MLM): the example count still guards it
  j["eval_file"] = c.eval_file.empty() ? "" : fs::absolute(c.eval_file).string();
  j["tokenizer"] = fs::absolute(d.tokenizer_path).string();
  j["labels"] = d.labels;
  j["train_examples"] = d.train.size();
  j["max_length"] = c.max_length;
  j["batch_size"] = c.batch_size;
  j["grad_accum"] = c.grad_accum;
  j["total_steps"] = total_steps;
  j["seed"] = c.seed;
  j["optimizer"] = to_string(c.optimizer.kind);
  j["lr"] = c.schedule.lr;
  j["schedule"] = to_string(c.schedule.kind);
  j["warmup"] = c.schedule.warmup_steps;
  j["weight_decay"] = c.optimizer.weight_decay;
  j["max_grad_norm"] = c.max_grad_norm;
  j["attention_type"] = c.attention_type ? attn::to_string(*c.attention_type) : "config";
  j["random_blocks"] = attn::to_string(c.random_blocks);
  j["dropout"] = {c.hidden_dropout, c.attention_dropout, c.head_dropout};
  j["mask_probability"] = c.mask_probability;
  j["whole_word"] = c.whole_word_masking;
  if (c.init_random) j["init"] = "random:" + fs::absolute(c.config_file.empty() ? c.model_dir : c.config_file).string();
  return j.dump();
}

void copy_tokenizer(const std::string& tokenizer_path, const std::string& dir) {
  std::error_code ec;
  const std::string name = fs::path(tokenizer_path).extension() == ".txt" ? "vocab.txt" : "spiece.model";
  fs::copy_file(tokenizer_path, fs::path(dir) / name, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(dir + ": cannot copy the tokenizer (" + ec.message() + ")");
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

// --eval-only: the model's metrics on the evaluation data, as the end-of-training evaluation.
TrainingSummary run_evaluation_only(const TrainerConfig& c, const std::function<TrainingEvent(TrainingEvent)>& publish) {
  if (c.eval_file.empty()) throw Error("evaluation only needs an evaluation file (--eval)");
  TrainerConfig ec = c;
  ec.train_file = c.eval_file;  // the loaders need a training set; it is not used
  const Head head = head_for(c.task);
  const ModelConfig config = load_config(config_path(c));
  TaskData data = load_task_data(ec, config.vocab_size);
  if (data.eval.empty()) throw Error(c.eval_file + ": no evaluation examples");
  std::map<int, std::string> id2label;
  for (size_t i = 0; i < data.labels.size(); ++i) id2label[int(i)] = data.labels[i];
  TrainableBigBird model = load_model(c, std::nullopt, config, head, id2label);
  TrainingEvent started;
  started.kind = TrainingEvent::Kind::Started;
  started.message = "evaluating " + model.params().source() + " on " + std::to_string(data.eval.size()) +
                    " examples of " + c.eval_file;
  publish(started);
  TrainingSummary summary;
  TrainingEvent e;
  e.kind = TrainingEvent::Kind::Eval;
  e.metrics = evaluate(model, data, c);
  summary.final_metrics = publish(e).metrics;
  TrainingEvent done;
  done.kind = TrainingEvent::Kind::Finished;
  done.metrics = summary.final_metrics;
  done.message = "evaluation only";
  publish(done);
  return summary;
}

}  // namespace

TrainingSummary run_training(const TrainerConfig& c, const TrainerControl& control) {
  if (c.task == Task::Summarization) return run_summarization_training(c, control);
  const auto t_start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t_start).count(); };
  auto publish = [&](TrainingEvent e) {
    e.elapsed_s = elapsed();
    e.rss_bytes = peak_rss_bytes();
    if (control.on_event) control.on_event(e);
    return e;
  };
  if (c.eval_only) return run_evaluation_only(c, publish);
  if (c.out_dir.empty()) throw Error("no output directory given");
  if (c.batch_size < 1 || c.grad_accum < 1) throw Error("batch size and gradient accumulation must be >= 1");
  const Head head = head_for(c.task);

  // Model (from the latest checkpoint when resuming) and data.
  std::optional<std::string> resume_dir;
  if (c.resume) {
    resume_dir = latest_checkpoint(c.out_dir);
    if (!resume_dir) throw Error(c.out_dir + ": no checkpoint to resume from (checkpoints/latest is missing)");
  }
  const ModelConfig base_config = load_config(config_path(c));
  TaskData data = load_task_data(c, base_config.vocab_size);
  std::map<int, std::string> id2label;
  for (size_t i = 0; i < data.labels.size(); ++i) id2label[int(i)] = data.labels[i];
  const bool fresh = !resume_dir && (c.init_random || !fs::exists(fs::path(c.model_dir) / "model.safetensors"));
  TrainableBigBird model = load_model(c, resume_dir, base_config, head, id2label);

  const BatchOrder order(int64_t(data.train.size()), c.batch_size, c.seed);
  const int64_t batches_per_epoch = (int64_t(data.train.size()) + c.batch_size - 1) / c.batch_size;
  const int64_t total_steps =
      c.max_steps > 0
          ? c.max_steps
          : std::max<int64_t>(1, int64_t(std::ceil(c.epochs * double(batches_per_epoch) / double(c.grad_accum))));
  ScheduleConfig schedule = c.schedule;
  schedule.total_steps = total_steps;
  Optimizer optimizer(c.optimizer);
  TrainerState state;
  state.fingerprint = fingerprint(c, total_steps, data);
  if (resume_dir) {
    LoadedCheckpoint ck = load_checkpoint_state(*resume_dir, optimizer);
    if (ck.state.fingerprint != state.fingerprint)
      throw Error(*resume_dir +
                  ": was written by a run with other settings or data; resume with the same options "
                  "(saved: " +
                  ck.state.fingerprint.substr(0, 400) + ")");
    state.step = ck.state.step;
    state.losses = ck.state.losses;
  }
  MetricsLog log(c.out_dir, eval_columns(c.task), resume_dir ? state.step : -1);

  TrainingEvent started;
  started.kind = TrainingEvent::Kind::Started;
  started.step = state.step;
  started.total_steps = total_steps;
  started.message = std::to_string(data.train.size()) + " training / " + std::to_string(data.eval.size()) +
                    " evaluation examples, " + std::to_string(total_steps) + " steps" +
                    (resume_dir ? ", resumed from " + fs::path(*resume_dir).filename().string() : "") +
                    (fresh ? ", starting from fresh random weights" : "");
  publish(started);

  StepOptions so;
  so.attention_type = c.attention_type;
  so.random_blocks = c.random_blocks;
  so.hidden_dropout = c.hidden_dropout;
  so.attention_dropout = c.attention_dropout;
  so.head_dropout = c.head_dropout;
  so.dropout_seed = c.seed;
  so.gradient_checkpointing = c.gradient_checkpointing;
  so.grad_scale = float(1.0 / double(c.grad_accum));

  TrainingSummary summary;
  std::string last_checkpoint = resume_dir.value_or("");
  double avg_step_s = 0.0;
  auto checkpoint = [&] {
    last_checkpoint = save_checkpoint(c.out_dir, model, optimizer, state, c.keep_checkpoints);
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::Checkpoint;
    e.step = state.step;
    e.total_steps = total_steps;
    e.message = last_checkpoint;
    publish(e);
  };
  auto run_eval = [&] {
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::Eval;
    e.step = state.step;
    e.total_steps = total_steps;
    e.epoch = order.epoch_of(state.step * c.grad_accum);
    e.metrics = evaluate(model, data, c);
    log.write(publish(e));
    summary.final_metrics = e.metrics;
  };

  while (state.step < total_steps) {
    if (c.stop_after_step > 0 && state.step >= c.stop_after_step) {  // also when resumed at that step
      summary.cancelled = true;
      break;
    }
    if (control.wait_while_paused) control.wait_while_paused();
    if (control.cancelled && control.cancelled()) {
      summary.cancelled = true;
      break;
    }
    const auto t0 = Clock::now();
    model.zero_grads();
    double loss = 0.0;
    int64_t tokens = 0;
    bool cancelled = false;
    for (int64_t micro = 0; micro < c.grad_accum; ++micro) {
      if (micro > 0 && control.cancelled && control.cancelled()) {
        cancelled = true;
        break;
      }
      const int64_t g = state.step * c.grad_accum + micro;
      std::vector<const Example*> rows;
      for (int64_t i : order.batch(g)) rows.push_back(&data.train[size_t(i)]);
      TrainBatch batch = collate(rows, c.task, data.pad_id);
      if (c.task == Task::MaskedLM)
        apply_masking(batch, rows, data.masking, dropout_key(c.seed, 0x4D4C4D, uint64_t(g)));
      so.step = uint64_t(state.step);
      so.micro_batch = uint64_t(micro);
      const StepResult r = forward_backward(model, batch, so);
      loss += r.head.loss / double(c.grad_accum);
      tokens += r.tokens;
    }
    if (cancelled) {
      summary.cancelled = true;
      break;  // the partial accumulation is dropped: the model is as after the last full step
    }
    const double norm = clip_grad_norm(model.grads(), c.max_grad_norm, model.unused_parameters());
    const double lr = lr_at(schedule, state.step);
    optimizer.step(model.params(), model.grads(), lr, model.unused_parameters());
    state.losses.push_back(loss);
    ++state.step;

    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    avg_step_s = avg_step_s == 0.0 ? dt : 0.8 * avg_step_s + 0.2 * dt;
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::Step;
    e.step = state.step;
    e.total_steps = total_steps;
    e.epoch = order.epoch_of(state.step * c.grad_accum);
    e.loss = loss;
    e.lr = lr;
    e.grad_norm = norm;
    e.tokens_per_s = dt > 0 ? double(tokens) / dt : 0.0;
    e.eta_s = avg_step_s * double(total_steps - state.step);
    log.write(publish(e));

    const bool last = state.step == total_steps;
    if (!last && c.eval_every > 0 && state.step % c.eval_every == 0) run_eval();
    if (!last && c.save_every > 0 && state.step % c.save_every == 0) checkpoint();
  }

  summary.steps = state.step;
  summary.losses = state.losses;
  if (!summary.cancelled) {
    run_eval();
    checkpoint();
    if (c.export_model) {
      summary.export_dir = (fs::path(c.out_dir) / "model").string();
      model.save_pretrained(summary.export_dir);
      copy_tokenizer(data.tokenizer_path, summary.export_dir);
    }
  }
  summary.last_checkpoint = last_checkpoint;
  TrainingEvent done;
  done.kind = summary.cancelled ? TrainingEvent::Kind::Cancelled : TrainingEvent::Kind::Finished;
  done.step = state.step;
  done.total_steps = total_steps;
  done.metrics = summary.final_metrics;
  done.message = summary.cancelled ? "stopped after step " + std::to_string(state.step) +
                                         (last_checkpoint.empty() ? "" : "; last checkpoint " + last_checkpoint)
                                   : "model written to " + summary.export_dir;
  publish(done);
  return summary;
}

}  // namespace bb::train
