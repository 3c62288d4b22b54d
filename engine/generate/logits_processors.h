#pragma once
// HF logits processors used by generate() (transformers generation/logits_process.py), applied in HF's
// order: no_repeat_ngram -> min_length -> forced_eos. Greedy applies them to raw logits, beam search to
// log-softmax scores. `seq` is the row's decoder sequence so far, start token included.
#include <cstdint>
#include <vector>

#include "engine/generate/generation_config.h"

namespace bb::gen {

// Tokens that would repeat an n-gram of `seq` (NoRepeatNGramLogitsProcessor).
std::vector<int64_t> banned_ngram_tokens(const std::vector<int64_t>& seq, int n);

// Sets banned scores to -inf in place; scores has `vocab` entries.
void apply_processors(const GenerationConfig& g, const std::vector<int64_t>& seq, float* scores, int64_t vocab);

// sum_i exp(x[i] - shift), accumulated in double.
double sum_exp_shifted(const float* x, int64_t n, float shift);
// log_softmax in float32 (HF: torch.log_softmax on float32 logits).
void log_softmax(const float* logits, float* out, int64_t n);

}  // namespace bb::gen
