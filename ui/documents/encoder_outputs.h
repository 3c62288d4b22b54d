#pragma once
// What an encoder model (BigBird-RoBERTa / KoBigBird from the Attention Lab) says about a document:
// fill-mask on one word, classification of the document, extractive QA over it. Long documents are
// cut to the model's window (the result says how many tokens were read). Engine only, no Qt.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend/encoder_backend.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/fill_mask.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::ui::documents {

struct MaskedWord {
  int64_t begin = 0, end = 0;  // the word, code points of the document
  std::string word;
  std::vector<bb::MaskCandidate> candidates;  // best first
  int64_t contextBegin = 0, contextEnd = 0;   // the part of the document the model read
  std::string backend;                        // what ran: "cpu", "vulkan (<device>)", "cpu (fallback: ...)"
};

// Replaces [begin, end) by the mask token and predicts it from as much context around it as the
// model reads. Throws bb::Error when the model has no MLM head or the span is empty.
MaskedWord predictMaskedWord(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& text,
                             int64_t begin, int64_t end, int topK = 5, const bb::backend::Selection& backend = {});

struct LabelScore {
  std::string label;
  float probability = 0;
};
struct Classification {
  std::vector<LabelScore> labels;  // most probable first
  int64_t tokensRead = 0, documentTokens = 0;
  std::string backend;
};
// Throws bb::Error when the checkpoint has no classification head.
Classification classifyDocument(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& text,
                                const bb::backend::Selection& backend = {});

struct Answer {
  int64_t begin = 0, end = 0;  // code points of the document; begin == end: no answer found
  std::string text;
  float score = 0;        // start logit + end logit
  float probability = 0;  // softmax(start)[i] * softmax(end)[j]
  int64_t tokensRead = 0, documentTokens = 0;
  std::string backend;
};
// The best span (at most maxAnswerTokens) inside the document part of [CLS] question [SEP] document
// [SEP]. Throws bb::Error when the checkpoint has no QA head or the question is empty.
Answer answerQuestion(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& question,
                      const std::string& document, int maxAnswerTokens = 30, const bb::backend::Selection& backend = {});

}  // namespace bb::ui::documents
