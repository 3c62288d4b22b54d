#pragma once
// A BigBird-Pegasus model directory ready for summarization: the model and the Pegasus tokenizer
// that belongs to it (spiece.model beside config.json, else the bundled pegasus.model).
#include <QString>
#include <memory>

#include "engine/models/pegasus_model.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::ui::documents {

struct SummaryModel {
  std::shared_ptr<const bb::PegasusModel> model;
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer;  // PegasusHF
  QString dir, tokenizerPath;
  int64_t maxInputTokens() const { return model->config().max_position_embeddings; }
  QString summary() const;  // "bigbird-pegasus · 16+16 layers · d 1024 · up to 4096 tokens"
};

// Runs on a worker thread. Throws bb::Error (one line) when `dir` is not a BigBird-Pegasus model
// or the tokenizer does not fit its vocabulary.
SummaryModel loadSummaryModel(const QString& dir);

}  // namespace bb::ui::documents
