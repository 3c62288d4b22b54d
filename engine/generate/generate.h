#pragma once
// generate(): greedy search and beam search with HF transformers semantics (the hf2024 reference of
// tests/data/generation/README.md), or the original BigBird TF beam search, over any Seq2SeqSource.
// Partial output streams to a callback after every step; a callback returning false or a set cancel
// flag stops the search at the next step boundary and returns the best output so far.
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/generate/decoder_session.h"
#include "engine/generate/generation_config.h"

namespace bb::gen {

struct StepUpdate {
  int64_t step = 0;       // decoder steps done
  int64_t max_steps = 0;  // max_length - 1
  // Per input: tokens generated so far by its leading hypothesis (start token excluded). In beam
  // search the leader can change, so earlier tokens may change too: replace, don't append.
  const std::vector<std::vector<int64_t>>* partial = nullptr;
  bool beam = false;
};

struct GenerationControl {
  std::function<bool(const StepUpdate&)> on_step;  // return false to stop
  const std::atomic<bool>* cancel = nullptr;       // checked before every step
};

struct GeneratedOutput {
  std::vector<int64_t> sequence;  // HF `sequences` row: start token, tokens, EOS, padding to the batch width
  std::vector<int64_t> tokens;    // generated tokens up to and including the first EOS (start excluded)
  bool ends_with_eos = false;
  double score = 0.0;             // beam: the hypothesis score (HF sequences_scores); greedy: sum of log-probs
  // Per entry of `tokens`: cross-attention over the input tokens when that token was chosen
  // (mean over heads and decoder layers). Empty unless capture_cross_attention.
  std::vector<std::vector<float>> cross_attention;
};

struct GenerationResult {
  std::vector<GeneratedOutput> outputs;  // one per input
  int64_t steps = 0;                     // decoder forward steps run
  bool beam = false;                     // scores are HF sequences_scores (beam) or sums of log-probs (greedy)
  bool cancelled = false;
};

GenerationResult generate(Seq2SeqSource& source, const GenerationConfig& config, const GenerationControl& control = {});

}  // namespace bb::gen
