#pragma once
// Summarization pairs tokenized for BigBird-Pegasus training, and their collation into seq2seq
// micro-batches: the document (EOS-terminated, cut to max_source tokens keeping the EOS) as encoder
// input, the summary (EOS-terminated, cut to max_target tokens) as labels; the decoder reads the
// labels shifted right (HF). Rows are padded with pad (mask 0) and labels with -100.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/summarization_data.h"
#include "engine/train/pegasus_train_step.h"

namespace bb::train {

struct SummaryExample {
  std::vector<int32_t> source, target;
  std::string summary;  // the reference text (ROUGE)
  int64_t line = 0;
};

std::vector<SummaryExample> tokenize_summaries(const std::vector<SummaryPair>& pairs, const tok::Tokenizer& tokenizer,
                                               int64_t max_source, int64_t max_target);

Seq2SeqTrainBatch collate_summaries(const std::vector<const SummaryExample*>& rows, int64_t pad_id);

}  // namespace bb::train
