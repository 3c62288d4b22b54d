#pragma once
// Fill-mask on text: tokenize with HF conventions, run the MLM head only at the [MASK] positions,
// return the top-k candidates per mask with probabilities. Shared by the CLI and the UI.
#include <optional>
#include <string>
#include <vector>

#include "engine/models/bigbird_model.h"
#include "engine/tokenize/tokenizer.h"

namespace bb {

struct MaskCandidate {
  int32_t id;
  std::string piece;  // vocabulary string
  std::string text;   // decoded, as it would read in the sentence
  float probability;
};

struct MaskPrediction {
  int64_t position;                      // token index in the model input
  std::pair<int64_t, int64_t> char_span;  // [begin, end) of the [MASK] in the text (code points)
  std::vector<MaskCandidate> candidates;  // best first
};

struct FillMaskResult {
  std::vector<MaskPrediction> masks;
  int64_t num_tokens = 0;
  attn::AttentionDecision decision;
  std::string backend;  // what ran (EncoderOutputs::backend)
};

// Throws bb::Error when the text has no mask token or is longer than the model accepts.
FillMaskResult fill_mask(const BigBirdModel& model, const tok::Tokenizer& tokenizer, const std::string& text, int top_k,
                         const EncoderOptions& base_options = {});

// The tokenizer file that belongs to a model directory: spiece.model, *.model, vocab.txt (HF layouts),
// or nullopt when the directory has none.
std::optional<std::string> find_tokenizer_file(const std::string& model_dir);

}  // namespace bb
