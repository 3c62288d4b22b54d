#include "engine/train/training_loop.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/train/checkpoint.h"
#include "engine/train/metrics_log.h"

namespace bb::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TrainingEvent EventPublisher::operator()(TrainingEvent e) const {
  e.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
  e.rss_bytes = peak_rss_bytes();
  if (control_.on_event) control_.on_event(e);
  return e;
}

void copy_tokenizer(const std::string& tokenizer_path, const std::string& dir, const std::string& name) {
  std::error_code ec;
  fs::copy_file(tokenizer_path, fs::path(dir) / name, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(dir + ": cannot copy the tokenizer (" + ec.message() + ")");
}

TrainingSummary publish_evaluation_only(const EventPublisher& publish, std::map<std::string, double> metrics) {
  TrainingSummary summary;
  TrainingEvent e;
  e.kind = TrainingEvent::Kind::Eval;
  e.metrics = std::move(metrics);
  summary.final_metrics = publish(e).metrics;
  TrainingEvent done;
  done.kind = TrainingEvent::Kind::Finished;
  done.metrics = summary.final_metrics;
  done.message = "evaluation only";
  publish(done);
  return summary;
}

namespace {

std::string fingerprint(const TrainerConfig& c, int64_t total_steps, const TrainingTask& task) {
  nlohmann::json j;  // keys sorted: the text does not depend on the order they are set in
  j["task"] = to_string(c.task);
  j["train_file"] = fs::absolute(c.train_file).string();
  std::error_code ec;
  const auto bytes = fs::file_size(c.train_file, ec);
  j["train_bytes"] = ec ? -1 : int64_t(bytes);  // -1 for a directory (MLM): the example count still guards it
  j["eval_file"] = c.eval_file.empty() ? "" : fs::absolute(c.eval_file).string();
  j["train_examples"] = task.train_examples();
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
  task.add_fingerprint(j);
  return j.dump();
}

}  // namespace

TrainingSummary run_training_loop(const TrainerConfig& c, const TrainerControl& control,
                                  const EventPublisher& publish, const TrainingTaskLoader& load) {
  if (c.out_dir.empty()) throw Error("no output directory given");
  if (c.batch_size < 1 || c.grad_accum < 1) throw Error("batch size and gradient accumulation must be >= 1");

  // Model (from the latest checkpoint when resuming) and data.
  std::optional<std::string> resume_dir;
  if (c.resume) {
    resume_dir = latest_checkpoint(c.out_dir);
    if (!resume_dir) throw Error(c.out_dir + ": no checkpoint to resume from (checkpoints/latest is missing)");
  }
  const std::unique_ptr<TrainingTask> task = load(resume_dir);

  const BatchOrder order(task->train_examples(), c.batch_size, c.seed);
  const int64_t batches_per_epoch = (task->train_examples() + c.batch_size - 1) / c.batch_size;
  const int64_t total_steps =
      c.max_steps > 0
          ? c.max_steps
          : std::max<int64_t>(1, int64_t(std::ceil(c.epochs * double(batches_per_epoch) / double(c.grad_accum))));
  ScheduleConfig schedule = c.schedule;
  schedule.total_steps = total_steps;
  Optimizer optimizer(c.optimizer);
  TrainerState state;
  state.fingerprint = fingerprint(c, total_steps, *task);
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
  MetricsLog log(c.out_dir, task->eval_columns(), resume_dir ? state.step : -1);

  TrainingEvent started;
  started.kind = TrainingEvent::Kind::Started;
  started.step = state.step;
  started.total_steps = total_steps;
  started.message = std::to_string(task->train_examples()) + " training / " + std::to_string(task->eval_examples()) +
                    " evaluation " + task->example_noun() + ", " + std::to_string(total_steps) + " steps" +
                    (resume_dir ? ", resumed from " + fs::path(*resume_dir).filename().string() : "") +
                    task->started_note();
  publish(started);

  TrainingSummary summary;
  std::string last_checkpoint = resume_dir.value_or("");
  double avg_step_s = 0.0;
  auto checkpoint = [&] {
    last_checkpoint = save_checkpoint(
        c.out_dir, [&](const std::string& dir) { task->save_model(dir); }, optimizer, state, c.keep_checkpoints);
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
    e.metrics = task->evaluate();
    log.write(publish(e));
    summary.final_metrics = e.metrics;
  };
  const bool stop_before = task->stop_rule() == StopAfterStep::BeforeNextStep;

  while (state.step < total_steps) {
    if (stop_before && c.stop_after_step > 0 && state.step >= c.stop_after_step) {  // also when resumed at that step
      summary.cancelled = true;
      break;
    }
    if (control.wait_while_paused) control.wait_while_paused();
    if (control.cancelled && control.cancelled()) {
      summary.cancelled = true;
      break;
    }
    const auto t0 = Clock::now();
    TaskStep req;
    req.step = state.step;
    req.micro_batches = c.grad_accum;
    req.order = &order;
    req.lr = lr_at(schedule, state.step);
    req.max_grad_norm = c.max_grad_norm;
    req.optimizer = &optimizer;
    req.cancelled = control.cancelled;
    const OptimizerStepResult step = task->step(req);
    if (step.cancelled) {
      summary.cancelled = true;
      break;  // the partial accumulation is dropped: the model is as after the last full step
    }
    state.losses.push_back(step.loss);
    ++state.step;

    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    avg_step_s = avg_step_s == 0.0 ? dt : 0.8 * avg_step_s + 0.2 * dt;
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::Step;
    e.step = state.step;
    e.total_steps = total_steps;
    e.epoch = order.epoch_of(state.step * c.grad_accum);
    e.loss = step.loss;
    e.lr = req.lr;
    e.grad_norm = step.grad_norm;
    e.message = step.ran_on;
    e.tokens_per_s = dt > 0 ? double(step.tokens) / dt : 0.0;
    e.eta_s = avg_step_s * double(total_steps - state.step);
    log.write(publish(e));

    const bool last = state.step == total_steps;
    if (!last && c.eval_every > 0 && state.step % c.eval_every == 0) run_eval();
    if (!last && c.save_every > 0 && state.step % c.save_every == 0) checkpoint();
    if (!stop_before && c.stop_after_step > 0 && state.step == c.stop_after_step) {
      summary.cancelled = true;
      break;
    }
  }

  summary.steps = state.step;
  summary.losses = state.losses;
  if (!summary.cancelled) {
    run_eval();
    checkpoint();
    if (c.export_model) {
      summary.export_dir = (fs::path(c.out_dir) / "model").string();
      task->export_model(summary.export_dir);
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
