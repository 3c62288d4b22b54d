#pragma once
// Sequence classification data (IMDb-style text,label) from CSV / TSV / JSONL: tokenized as the
// tokenizer's single-sequence input ([CLS] text [SEP]), truncated to max_length keeping the final
// [SEP], labels mapped to ids. The label set is given, or taken from the training file: sorted
// unique values (numerically when every label is an integer), as HF's run_glue does.
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/examples.h"
#include "engine/train/data/text_table.h"

namespace bb::train {

struct ClassificationOptions {
  std::string text_column = "text";
  std::string label_column = "label";
  int64_t max_length = 512;
  TableFormat format = TableFormat::Auto;
};

struct ClassificationData {
  std::vector<Example> examples;
  std::vector<std::string> labels;  // id -> label text
};

// Derives the label set from the rows of a training table.
std::vector<std::string> label_set_of(const TextTable& table, const std::string& label_column);

// Every label must be in `labels` (an error names file:line and the unknown label); an empty file
// is an error.
ClassificationData load_classification(const std::string& path, const tok::Tokenizer& tokenizer,
                                       const ClassificationOptions& options, const std::vector<std::string>& labels);

// Tokenizes one text as the model sees it (shared with evaluation and the CLI's predictions).
std::vector<int32_t> encode_for_classification(const tok::Tokenizer& tokenizer, const std::string& text,
                                               int64_t max_length);

}  // namespace bb::train
