#pragma once
// Tokenized training examples of every task and their collation into padded micro-batches.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/train/train_step.h"

namespace bb::train {

enum class Task { Classification, QuestionAnswering, MaskedLM, Summarization };
Task parse_task(const std::string& s);  // cls | qa | mlm | summarize
std::string to_string(Task t);

struct Example {
  std::vector<int32_t> ids;
  std::vector<uint8_t> word_start;  // MLM whole-word masking: 1 where a word begins
  int64_t label = -100;             // classification
  int64_t start = 0, end = 0;       // QA: answer tokens (0, 0 = no answer, the [CLS] position)
  int64_t question = -1;            // QA: index of the question this window belongs to
  // QA: code-point range of each token in the question's context ([-1, -1) outside the context).
  std::vector<std::pair<int64_t, int64_t>> offsets;
  int64_t line = 0;  // source line (or record index), for messages
};

// Pads to the longest example (pad id, mask 0). MLM labels are produced by MaskingPolicy, not here.
TrainBatch collate(const std::vector<const Example*>& examples, Task task, int64_t pad_id);

}  // namespace bb::train
