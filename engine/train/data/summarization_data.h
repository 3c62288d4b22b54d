#pragma once
// Summarization pairs from JSON Lines (default fields "document" and "summary"; CSV/TSV work too).
// Reading and validation only; summarization_examples.h tokenizes them for BigBird-Pegasus training.
#include <string>
#include <vector>

#include "engine/train/data/text_table.h"

namespace bb::train {

struct SummaryPair {
  int64_t line = 0;
  std::string document, summary;
};

// Empty documents or summaries are errors naming file:line; an empty file is an error.
std::vector<SummaryPair> load_summarization(const std::string& path, const std::string& document_column = "document",
                                            const std::string& summary_column = "summary",
                                            TableFormat format = TableFormat::Auto);

}  // namespace bb::train
