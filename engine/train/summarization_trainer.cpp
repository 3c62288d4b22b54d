#include "engine/train/summarization_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.h"
#include "engine/models/config.h"
#include "engine/train/checkpoint.h"
#include "engine/train/data/summarization_examples.h"
#include "engine/train/metrics_log.h"
#include "engine/train/pegasus_train_step.h"
#include "engine/train/summarization_eval.h"
#include "engine/train/trainable_pegasus.h"
#include "engine/train/trainer_data.h"

namespace bb::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kEvalColumns = {"eval_loss", "eval_accuracy", "eval_rouge1", "eval_rouge2",
                                               "eval_rougeL", "eval_exact_match"};

struct SummaryData {
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::string tokenizer_path;
  std::vector<SummaryExample> train, eval;
};

void check_vocab(const std::vector<SummaryExample>& ex, int64_t vocab, const std::string& what) {
  for (const SummaryExample& e : ex)
    for (const auto* ids : {&e.source, &e.target})
      for (int32_t id : *ids)
        if (id < 0 || id >= vocab)
          throw Error(what + ":" + std::to_string(e.line) + ": the tokenizer produced id " + std::to_string(id) +
                      ", outside the model's vocabulary (" + std::to_string(vocab) + "); is it the model's tokenizer?");
}

SummaryData load_data(const TrainerConfig& c, int64_t vocab, bool need_train) {
  SummaryData d;
  d.tokenizer_path = resolve_tokenizer(c, vocab);
  d.tokenizer = tok::load_tokenizer(d.tokenizer_path);
  auto load = [&](const std::string& f) {
    return tokenize_summaries(load_summarization(f, c.text_column == "text" ? "document" : c.text_column,
                                                 c.label_column == "label" ? "summary" : c.label_column, c.format),
                              *d.tokenizer, c.max_length, c.max_target_length);
  };
  if (need_train) {
    if (c.train_file.empty()) throw Error("no training file given");
    std::vector<SummaryExample> all = load(c.train_file);
    if (!c.eval_file.empty()) {
      d.train = std::move(all);
    } else {  // seeded held-out share
      std::vector<size_t> idx(all.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::mt19937_64 gen(c.seed ^ 0x5eed5eedull);
      for (size_t i = idx.size() - 1; i > 0; --i) std::swap(idx[i], idx[size_t(gen() % (i + 1))]);
      size_t n_eval = c.eval_split > 0 ? std::max<size_t>(1, size_t(double(all.size()) * c.eval_split)) : 0;
      if (n_eval >= all.size()) n_eval = all.size() - 1;
      std::sort(idx.begin(), idx.begin() + long(n_eval));
      std::sort(idx.begin() + long(n_eval), idx.end());
      for (size_t k = 0; k < idx.size(); ++k) (k < n_eval ? d.eval : d.train).push_back(std::move(all[idx[k]]));
    }
    if (d.train.empty()) throw Error(c.train_file + ": empty dataset (nothing left to train on)");
    check_vocab(d.train, vocab, c.train_file);
  }
  if (!c.eval_file.empty()) d.eval = load(c.eval_file);
  if (c.max_eval_examples > 0 && int64_t(d.eval.size()) > c.max_eval_examples) d.eval.resize(size_t(c.max_eval_examples));
  check_vocab(d.eval, vocab, c.eval_file.empty() ? c.train_file : c.eval_file);
  return d;
}

std::string model_config_path(const TrainerConfig& c) {
  if (c.init_random) throw Error("--task summarize fine-tunes a BigBird-Pegasus checkpoint; --init random is not supported");
  if (c.model_dir.empty()) throw Error("no model given (--model DIR)");
  return (fs::path(c.model_dir) / "config.json").string();
}

std::string fingerprint(const TrainerConfig& c, int64_t total_steps, const SummaryData& d) {
  nlohmann::json j;
  j["task"] = to_string(c.task);
  j["train_file"] = fs::absolute(c.train_file).string();
  std::error_code ec;
  const auto bytes = fs::file_size(c.train_file, ec);
  j["train_bytes"] = ec ? -1 : int64_t(bytes);
  j["eval_file"] = c.eval_file.empty() ? "" : fs::absolute(c.eval_file).string();
  j["tokenizer"] = fs::absolute(d.tokenizer_path).string();
  j["train_examples"] = d.train.size();
  j["max_length"] = c.max_length;
  j["max_target_length"] = c.max_target_length;
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
  j["dropout"] = c.hidden_dropout;
  return j.dump();
}

}  // namespace

TrainingSummary run_summarization_training(const TrainerConfig& c, const TrainerControl& control) {
  const auto t_start = Clock::now();
  auto publish = [&](TrainingEvent e) {
    e.elapsed_s = std::chrono::duration<double>(Clock::now() - t_start).count();
    e.rss_bytes = peak_rss_bytes();
    if (control.on_event) control.on_event(e);
    return e;
  };
  const ModelConfig base_config = load_config(model_config_path(c));
  if (base_config.family != ModelFamily::BigBirdPegasus)
    throw Error("--task summarize needs a BigBird-Pegasus model; " + c.model_dir + " is " + base_config.model_type);
  if (c.gradient_checkpointing) throw Error("--gradient-checkpointing is not available for summarization yet");
  if (c.batch_size < 1 || c.grad_accum < 1) throw Error("batch size and gradient accumulation must be >= 1");

  TrainingSummary summary;
  if (c.eval_only) {
    if (c.eval_file.empty()) throw Error("evaluation only needs an evaluation file (--eval)");
    SummaryData data = load_data(c, base_config.vocab_size, false);
    if (data.eval.empty()) throw Error(c.eval_file + ": no evaluation examples");
    TrainablePegasus model = TrainablePegasus::load(c.model_dir);
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::Eval;
    e.metrics = evaluate_summarization(model, data.eval, *data.tokenizer, c);
    summary.final_metrics = publish(e).metrics;
    TrainingEvent done;
    done.kind = TrainingEvent::Kind::Finished;
    done.metrics = summary.final_metrics;
    done.message = "evaluation only";
    publish(done);
    return summary;
  }
  if (c.out_dir.empty()) throw Error("no output directory given");

  std::optional<std::string> resume_dir;
  if (c.resume) {
    resume_dir = latest_checkpoint(c.out_dir);
    if (!resume_dir) throw Error(c.out_dir + ": no checkpoint to resume from (checkpoints/latest is missing)");
  }
  SummaryData data = load_data(c, base_config.vocab_size, true);
  TrainablePegasus model = TrainablePegasus::load(resume_dir.value_or(c.model_dir));
  const int64_t pad = std::max<int32_t>(0, data.tokenizer->special_ids().pad);

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
      throw Error(*resume_dir + ": was written by a run with other settings or data; resume with the same options");
    state.step = ck.state.step;
    state.losses = ck.state.losses;
  }
  MetricsLog log(c.out_dir, kEvalColumns, resume_dir ? state.step : -1);

  TrainingEvent started;
  started.kind = TrainingEvent::Kind::Started;
  started.step = state.step;
  started.total_steps = total_steps;
  started.message = std::to_string(data.train.size()) + " training / " + std::to_string(data.eval.size()) +
                    " evaluation summaries, " + std::to_string(total_steps) + " steps" +
                    (resume_dir ? ", resumed from " + fs::path(*resume_dir).filename().string() : "");
  publish(started);

  Seq2SeqStepOptions so;
  so.attention_type = c.attention_type;
  so.random_blocks = c.random_blocks;
  so.grad_scale = float(1.0 / double(c.grad_accum));
  so.dropout = float(c.hidden_dropout >= 0 ? c.hidden_dropout : model.config().hidden_dropout_prob);
  so.dropout_seed = c.seed;

  std::string last_checkpoint = resume_dir.value_or("");
  double avg_step_s = 0.0;
  auto checkpoint = [&] {
    last_checkpoint = save_checkpoint(
        c.out_dir, [&](const std::string& dir) { model.save_pretrained(dir); }, optimizer, state, c.keep_checkpoints);
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
    e.metrics = evaluate_summarization(model, data.eval, *data.tokenizer, c);
    log.write(publish(e));
    summary.final_metrics = e.metrics;
  };

  while (state.step < total_steps) {
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
      std::vector<const SummaryExample*> rows;
      for (int64_t i : order.batch(state.step * c.grad_accum + micro)) rows.push_back(&data.train[size_t(i)]);
      so.step = uint64_t(state.step);
      so.micro_batch = uint64_t(micro);
      const Seq2SeqStepResult r = pegasus_forward_backward(model, collate_summaries(rows, pad), so);
      loss += r.loss / double(c.grad_accum);
      tokens += r.tokens;
    }
    if (cancelled) {
      summary.cancelled = true;
      break;  // the partial accumulation is dropped: the model is as after the last full step
    }
    const double norm = clip_grad_norm(model.grads(), c.max_grad_norm, TrainablePegasus::buffers());
    const double lr = lr_at(schedule, state.step);
    optimizer.step(model.params(), model.grads(), lr, TrainablePegasus::buffers());
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
    if (c.stop_after_step > 0 && state.step == c.stop_after_step) {
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
      model.save_pretrained(summary.export_dir);
      std::error_code ec;
      fs::copy_file(data.tokenizer_path, fs::path(summary.export_dir) / "spiece.model",
                    fs::copy_options::overwrite_existing, ec);
      if (ec) throw Error(summary.export_dir + ": cannot copy the tokenizer (" + ec.message() + ")");
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
