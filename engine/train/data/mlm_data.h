#pragma once
// Masked-LM data from raw text files: every non-empty line is tokenized (no special tokens), the
// token stream is cut into windows of max_length − 2 tokens and each window becomes
// [CLS] window [SEP]. Masking happens per batch (dynamic, as HF's data collators) and is a pure
// function of (seed, epoch, example), so a resumed run masks exactly as the uninterrupted one:
// 15 % of the tokens (at least one) are chosen — single tokens, or whole words with
// whole_word = true — and of those 80 % become [MASK], 10 % a random token, 10 % stay.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/examples.h"

namespace bb::train {

struct MlmOptions {
  int64_t max_length = 512;
  double mask_probability = 0.15;
  bool whole_word = false;
};

std::vector<Example> load_mlm_text(const std::vector<std::string>& paths, const tok::Tokenizer& tokenizer,
                                   const MlmOptions& options);
std::vector<Example> mlm_examples_from_text(const std::string& text, const std::string& label,
                                            const tok::Tokenizer& tokenizer, const MlmOptions& options);

struct MaskingPolicy {
  double probability = 0.15;
  bool whole_word = false;
  int32_t mask_id = -1;
  int64_t vocab_size = 0;
  std::vector<int32_t> special_ids;  // never masked, never drawn as random replacements
  static MaskingPolicy for_tokenizer(const tok::Tokenizer& t, int64_t vocab_size, const MlmOptions& o);
};

// Masks the batch's input_ids in place and fills its labels ([batch, len], -100 where not chosen).
// `examples` are the batch rows in order; `key` names the draw (seed, epoch, step).
void apply_masking(TrainBatch& batch, const std::vector<const Example*>& examples, const MaskingPolicy& policy,
                   uint64_t key);

}  // namespace bb::train
