#include "engine/train/summarization_trainer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.h"
#include "engine/models/config.h"
#include "engine/train/data/summarization_examples.h"
#include "engine/train/pegasus_train_step.h"
#include "engine/train/summarization_eval.h"
#include "engine/train/trainable_pegasus.h"
#include "engine/train/trainer_data.h"
#include "engine/train/training_loop.h"

namespace bb::train {

namespace fs = std::filesystem;

namespace {

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

// Pegasus summarization for the shared loop; its optimizer steps run on the host.
class PegasusTask : public TrainingTask {
 public:
  PegasusTask(const TrainerConfig& c, int64_t vocab, const std::optional<std::string>& resume_dir)
      : c_(c),
        data_(load_data(c, vocab, true)),
        model_(TrainablePegasus::load(resume_dir.value_or(c.model_dir))),
        pad_(std::max<int32_t>(0, data_.tokenizer->special_ids().pad)) {
    so_.attention_type = c.attention_type;
    so_.random_blocks = c.random_blocks;
    so_.grad_scale = float(1.0 / double(c.grad_accum));
    so_.dropout = float(c.hidden_dropout >= 0 ? c.hidden_dropout : model_.config().hidden_dropout_prob);
    so_.dropout_seed = c.seed;
  }

  int64_t train_examples() const override { return int64_t(data_.train.size()); }
  int64_t eval_examples() const override { return int64_t(data_.eval.size()); }
  std::string example_noun() const override { return "summaries"; }
  std::vector<std::string> eval_columns() const override { return kEvalColumns; }
  void add_fingerprint(nlohmann::json& j) const override {  // training_loop.cpp has the shared part
    j["tokenizer"] = fs::absolute(data_.tokenizer_path).string();
    j["max_target_length"] = c_.max_target_length;
    j["dropout"] = c_.hidden_dropout;
  }
  StopAfterStep stop_rule() const override { return StopAfterStep::RightAfterStep; }

  OptimizerStepResult step(const TaskStep& t) override {
    OptimizerStepResult res = run_host_step(
        model_.params(), model_.grads(), TrainablePegasus::buffers(), [&] { model_.zero_grads(); }, *t.optimizer,
        t.micro_batches, t.lr, t.max_grad_norm, t.cancelled, [&](int64_t micro) {
          std::vector<const SummaryExample*> rows;
          for (int64_t i : t.order->batch(t.step * t.micro_batches + micro)) rows.push_back(&data_.train[size_t(i)]);
          so_.step = uint64_t(t.step);
          so_.micro_batch = uint64_t(micro);
          const Seq2SeqStepResult r = pegasus_forward_backward(model_, collate_summaries(rows, pad_), so_);
          return MicroBatchResult{r.loss, r.tokens};
        });
    res.ran_on.clear();  // the Step event of a summarization run has no message
    return res;
  }

  std::map<std::string, double> evaluate() override {
    return evaluate_summarization(model_, data_.eval, *data_.tokenizer, c_);
  }
  void save_model(const std::string& dir) const override { model_.save_pretrained(dir); }
  void export_model(const std::string& dir) const override {
    model_.save_pretrained(dir);
    copy_tokenizer(data_.tokenizer_path, dir, "spiece.model");
  }

 private:
  const TrainerConfig& c_;
  SummaryData data_;
  TrainablePegasus model_;
  const int64_t pad_;
  Seq2SeqStepOptions so_;
};

}  // namespace

TrainingSummary run_summarization_training(const TrainerConfig& c, const TrainerControl& control) {
  const EventPublisher publish(control);
  const ModelConfig base_config = load_config(model_config_path(c));
  if (base_config.family != ModelFamily::BigBirdPegasus)
    throw Error("--task summarize needs a BigBird-Pegasus model; " + c.model_dir + " is " + base_config.model_type);
  if (c.gradient_checkpointing) throw Error("--gradient-checkpointing is not available for summarization yet");
  if (c.batch_size < 1 || c.grad_accum < 1) throw Error("batch size and gradient accumulation must be >= 1");

  if (c.eval_only) {
    if (c.eval_file.empty()) throw Error("evaluation only needs an evaluation file (--eval)");
    SummaryData data = load_data(c, base_config.vocab_size, false);
    if (data.eval.empty()) throw Error(c.eval_file + ": no evaluation examples");
    TrainablePegasus model = TrainablePegasus::load(c.model_dir);
    return publish_evaluation_only(publish, evaluate_summarization(model, data.eval, *data.tokenizer, c));
  }
  return run_training_loop(c, control, publish, [&](const std::optional<std::string>& resume_dir) {
    return std::make_unique<PegasusTask>(c, base_config.vocab_size, resume_dir);
  });
}

}  // namespace bb::train
