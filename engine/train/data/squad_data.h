#pragma once
// Extractive QA from SQuAD-style JSON ({"data": [{"paragraphs": [{"context", "qas": [{"id",
// "question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}, v1.1 and v2.0).
// Each question becomes one or more windows [CLS] question [SEP] context-window [SEP] of at most
// max_length tokens; long contexts are covered by windows every doc_stride context tokens. The
// answer's tokens are the targets; a window without the answer (or an impossible question) targets
// [CLS] (position 0), the "no answer" of HF BigBird's QA head. answer_start is in characters
// (Unicode code points) of the context; an answer whose text is not there is an error naming the
// question id.
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/examples.h"

namespace bb::train {

struct QAOptions {
  int64_t max_length = 4096;
  int64_t doc_stride = 3072;          // context tokens between window starts (KoBigBird's recipe)
  int64_t max_question_tokens = 128;  // longer questions are truncated
};

struct QAQuestion {
  std::string id, question, context;
  std::vector<std::string> answers;  // empty: no answer
};

struct QAData {
  std::vector<QAQuestion> questions;
  std::vector<Example> examples;  // windows; Example::question indexes `questions`
};

QAData load_squad(const std::string& path, const tok::Tokenizer& tokenizer, const QAOptions& options);
QAData parse_squad(const std::string& json_text, const std::string& label, const tok::Tokenizer& tokenizer,
                   const QAOptions& options);

// Code points [begin, end) of `text` as a string.
std::string codepoint_substr(const std::string& text, int64_t begin, int64_t end);

}  // namespace bb::train
