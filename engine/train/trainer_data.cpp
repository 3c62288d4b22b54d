#include "engine/train/trainer_data.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "engine/core/error.h"
#include "engine/core/resource_dir.h"
#include "engine/train/data/classification_data.h"

namespace bb::train {

namespace fs = std::filesystem;

std::string resolve_tokenizer(const TrainerConfig& c, int64_t model_vocab) {
  if (!c.tokenizer.empty()) return c.tokenizer;
  for (const char* name : {"spiece.model", "tokenizer.model", "vocab.txt"}) {
    if (c.model_dir.empty()) break;
    const fs::path p = fs::path(c.model_dir) / name;
    if (fs::exists(p)) return p.string();
  }
  const fs::path bundled = resource_path("vocab/gpt2.model");
  if (model_vocab == 50358 && fs::exists(bundled)) return bundled.string();
  throw Error((c.model_dir.empty() ? c.config_file : c.model_dir) + ": no tokenizer (spiece.model / vocab.txt) next to the model; pass --tokenizer");
}

namespace {

// Seeded split of [0, n) into (train, eval) index lists.
void split_indices(int64_t n, double share, uint64_t seed, std::vector<int64_t>& train, std::vector<int64_t>& eval) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  std::mt19937_64 gen(seed ^ 0x5eed5eedull);
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[size_t(i)], idx[size_t(gen() % uint64_t(i + 1))]);
  int64_t n_eval = share > 0 ? std::max<int64_t>(1, int64_t(double(n) * share)) : 0;
  if (n_eval >= n) n_eval = n - 1;
  eval.assign(idx.begin(), idx.begin() + n_eval);
  train.assign(idx.begin() + n_eval, idx.end());
  std::sort(eval.begin(), eval.end());
  std::sort(train.begin(), train.end());
}

void check_vocab(const std::vector<Example>& ex, int64_t vocab, const std::string& what) {
  for (const Example& e : ex)
    for (int32_t id : e.ids)
      if (id < 0 || id >= vocab)
        throw Error(what + ": the tokenizer produced id " + std::to_string(id) + ", outside the model's vocabulary (" +
                    std::to_string(vocab) + "); is it the model's tokenizer?");
}

// A file, or every *.txt file of a directory in name order (MLM corpora of several books).
std::vector<std::string> text_files(const std::string& path) {
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file() && e.path().extension() == ".txt") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw Error(path + ": no .txt files in this directory");
  return out;
}

}  // namespace

TaskData load_task_data(const TrainerConfig& c, int64_t model_vocab) {
  TaskData d;
  d.tokenizer_path = resolve_tokenizer(c, model_vocab);
  d.tokenizer = tok::load_tokenizer(d.tokenizer_path);
  d.pad_id = std::max<int32_t>(0, d.tokenizer->special_ids().pad);
  if (c.train_file.empty()) throw Error("no training file given");
  switch (c.task) {
    case Task::Classification: {
      ClassificationOptions o;
      o.text_column = c.text_column;
      o.label_column = c.label_column;
      o.max_length = c.max_length;
      o.format = c.format;
      d.labels = c.labels.empty() ? label_set_of(read_text_table(c.train_file, c.format), c.label_column) : c.labels;
      ClassificationData train = load_classification(c.train_file, *d.tokenizer, o, d.labels);
      if (!c.eval_file.empty()) {
        d.train = std::move(train.examples);
        d.eval = load_classification(c.eval_file, *d.tokenizer, o, d.labels).examples;
      } else {
        std::vector<int64_t> ti, ei;
        split_indices(int64_t(train.examples.size()), c.eval_split, c.seed, ti, ei);
        for (int64_t i : ti) d.train.push_back(train.examples[size_t(i)]);
        for (int64_t i : ei) d.eval.push_back(train.examples[size_t(i)]);
      }
      break;
    }
    case Task::QuestionAnswering: {
      QAOptions o;
      o.max_length = c.max_length;
      o.doc_stride = c.doc_stride;
      QAData train = load_squad(c.train_file, *d.tokenizer, o);
      if (!c.eval_file.empty()) {
        d.train = std::move(train.examples);
        QAData eval = load_squad(c.eval_file, *d.tokenizer, o);
        d.eval = std::move(eval.examples);
        d.eval_questions = std::move(eval.questions);
      } else {
        std::vector<int64_t> tq, eq;
        split_indices(int64_t(train.questions.size()), c.eval_split, c.seed, tq, eq);
        std::vector<int64_t> remap(train.questions.size(), -1);
        for (int64_t q : eq) {
          remap[size_t(q)] = int64_t(d.eval_questions.size());
          d.eval_questions.push_back(train.questions[size_t(q)]);
        }
        for (Example& e : train.examples) {
          if (remap[size_t(e.question)] >= 0) {
            e.question = remap[size_t(e.question)];
            d.eval.push_back(std::move(e));
          } else {
            d.train.push_back(std::move(e));
          }
        }
      }
      break;
    }
    case Task::MaskedLM: {
      MlmOptions o;
      o.max_length = c.max_length;
      o.mask_probability = c.mask_probability;
      o.whole_word = c.whole_word_masking;
      std::vector<Example> train = load_mlm_text(text_files(c.train_file), *d.tokenizer, o);
      if (!c.eval_file.empty()) {
        d.train = std::move(train);
        d.eval = load_mlm_text(text_files(c.eval_file), *d.tokenizer, o);
      } else {
        std::vector<int64_t> ti, ei;
        split_indices(int64_t(train.size()), train.size() > 1 ? c.eval_split : 0.0, c.seed, ti, ei);
        for (int64_t i : ti) d.train.push_back(train[size_t(i)]);
        for (int64_t i : ei) d.eval.push_back(train[size_t(i)]);
      }
      d.masking = MaskingPolicy::for_tokenizer(*d.tokenizer, model_vocab, o);
      break;
    }
    case Task::Summarization:
      throw Error(
          "--task summarize data is read by the summarization trainer (tokenize_summaries), not as BigBird "
          "examples");
  }
  if (d.train.empty()) throw Error(c.train_file + ": empty dataset (nothing left to train on)");
  if (c.max_eval_examples > 0 && int64_t(d.eval.size()) > c.max_eval_examples)
    d.eval.resize(size_t(c.max_eval_examples));
  check_vocab(d.train, model_vocab, c.train_file);
  check_vocab(d.eval, model_vocab, c.eval_file.empty() ? c.train_file : c.eval_file);
  return d;
}

BatchOrder::BatchOrder(int64_t n, int64_t batch_size, uint64_t seed) : n_(n), batch_(batch_size), seed_(seed) {
  if (n_ <= 0) throw Error("empty dataset");
  if (batch_ <= 0) throw Error("batch size must be positive");
}

const std::vector<int64_t>& BatchOrder::permutation(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    cached_.resize(size_t(n_));
    for (int64_t i = 0; i < n_; ++i) cached_[size_t(i)] = i;
    std::mt19937_64 gen(seed_ * 0x9e3779b97f4a7c15ull + uint64_t(epoch));
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(cached_[size_t(i)], cached_[size_t(gen() % uint64_t(i + 1))]);
    cached_epoch_ = epoch;
  }
  return cached_;
}

std::vector<int64_t> BatchOrder::batch(int64_t g) const {
  std::vector<int64_t> out;
  for (int64_t p = g * batch_; p < (g + 1) * batch_; ++p) out.push_back(permutation(p / n_)[size_t(p % n_)]);
  return out;
}

double BatchOrder::epoch_of(int64_t g) const { return double(g * batch_) / double(n_); }

}  // namespace bb::train
