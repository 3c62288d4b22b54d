#include "engine/train/data/examples.h"

#include <algorithm>

#include "engine/core/error.h"

namespace bb::train {

Task parse_task(const std::string& s) {
  if (s == "cls" || s == "classification") return Task::Classification;
  if (s == "qa") return Task::QuestionAnswering;
  if (s == "mlm") return Task::MaskedLM;
  if (s == "summarize" || s == "summarization") return Task::Summarization;
  throw Error("unknown task '" + s + "' (expected cls, qa, mlm or summarize)");
}

std::string to_string(Task t) {
  switch (t) {
    case Task::Classification:
      return "cls";
    case Task::QuestionAnswering:
      return "qa";
    case Task::MaskedLM:
      return "mlm";
    case Task::Summarization:
      return "summarize";
  }
  return "?";
}

TrainBatch collate(const std::vector<const Example*>& examples, Task task, int64_t pad_id) {
  if (examples.empty()) throw Error("cannot collate an empty batch");
  const int64_t B = int64_t(examples.size());
  int64_t L = 0;
  for (const Example* e : examples) L = std::max<int64_t>(L, int64_t(e->ids.size()));
  TrainBatch b;
  b.input_ids = I64Tensor({B, L});
  b.attention_mask = I64Tensor({B, L});
  for (int64_t r = 0; r < B; ++r) {
    const Example& e = *examples[size_t(r)];
    for (int64_t t = 0; t < L; ++t) {
      const bool real = t < int64_t(e.ids.size());
      b.input_ids[r * L + t] = real ? e.ids[size_t(t)] : pad_id;
      b.attention_mask[r * L + t] = real ? 1 : 0;
    }
  }
  if (task == Task::Classification) {
    b.labels = I64Tensor({B});
    for (int64_t r = 0; r < B; ++r) b.labels[r] = examples[size_t(r)]->label;
  } else if (task == Task::QuestionAnswering) {
    b.start_positions = I64Tensor({B});
    b.end_positions = I64Tensor({B});
    for (int64_t r = 0; r < B; ++r) {
      b.start_positions[r] = examples[size_t(r)]->start;
      b.end_positions[r] = examples[size_t(r)]->end;
    }
  }
  return b;
}

}  // namespace bb::train
