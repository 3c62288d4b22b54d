#pragma once
// The trainer's view of a task's data (internal to the trainer): tokenized train / eval examples,
// the label set, QA questions, the MLM masking policy, and the deterministic batch order.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/mlm_data.h"
#include "engine/train/data/squad_data.h"
#include "engine/train/trainer.h"

namespace bb::train {

struct TaskData {
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::string tokenizer_path;
  std::vector<Example> train, eval;
  std::vector<std::string> labels;         // classification
  std::vector<QAQuestion> eval_questions;  // QA (Example::question of eval windows indexes this)
  MaskingPolicy masking;                   // MLM
  int64_t pad_id = 0;
};

// Loads and tokenizes the data of config.task (model_vocab: the model's vocabulary size, checked
// against the tokenizer's ids).
TaskData load_task_data(const TrainerConfig& c, int64_t model_vocab);
std::string resolve_tokenizer(const TrainerConfig& c, int64_t model_vocab);

// Micro-batch g of the run: positions [g·B, (g+1)·B) of the concatenation of per-epoch seeded
// permutations of the training examples. Returns example indices.
class BatchOrder {
 public:
  BatchOrder(int64_t num_examples, int64_t batch_size, uint64_t seed);
  std::vector<int64_t> batch(int64_t g) const;
  double epoch_of(int64_t g) const;  // fractional epoch at the start of micro-batch g
 private:
  const std::vector<int64_t>& permutation(int64_t epoch) const;
  int64_t n_, batch_;
  uint64_t seed_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> cached_;
};

}  // namespace bb::train
