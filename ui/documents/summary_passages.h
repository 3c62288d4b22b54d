#pragma once
// Cross-attention highlighting: the summary cut into sentences, and for each sentence the source
// passages its tokens attended to most (decoder cross-attention, mean over heads and layers, as
// the summarizer captures it). Positions are code points of the summary and of the document.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/generate/summarizer.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::ui::documents {

struct SourcePassage {
  int64_t begin = 0, end = 0;  // code points of the document
  float weight = 0;            // attention mass of the sentence on the passage's top token
};

struct SummarySentence {
  int64_t begin = 0, end = 0;  // code points of SummaryResult::summary
  std::vector<SourcePassage> passages;  // strongest first
};

// Sentences of the summary; `passages` is filled when the result holds cross-attention.
// `document` is the text that was summarized (passages extend to its sentence boundaries).
std::vector<SummarySentence> mapSummaryToSource(const bb::gen::SummaryResult& result, const bb::tok::Tokenizer& tokenizer,
                                                const std::string& document, int maxPassages = 3);

// Sentence spans [begin, end) of `text` in code points: ends at . ! ? followed by a space, or at a newline.
std::vector<std::pair<int64_t, int64_t>> sentenceSpans(const std::u32string& text);

}  // namespace bb::ui::documents
