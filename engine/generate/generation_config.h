#pragma once
// Settings of one generate() call, with HF GenerationConfig meanings (bigbird-spec.md §6,
// tests/data/generation/README.md): lengths count the decoder start token, early_stopping is
// true / false / "never". BeamScoring::TF selects the original BigBird (Pegasus) TF beam search:
// GNMT length normalisation ((5+len)/6)^alpha and a fixed number of steps (spec §6.1).
#include <cstdint>
#include <string>

#include "engine/models/config.h"

namespace bb::gen {

enum class EarlyStopping { False, True, Never };
enum class BeamScoring { HF, TF };

EarlyStopping parse_early_stopping(const std::string& s);  // true|false|never
std::string to_string(EarlyStopping e);
BeamScoring parse_beam_scoring(const std::string& s);  // hf|tf
std::string to_string(BeamScoring b);

struct GenerationConfig {
  int num_beams = 1;                 // 1 = greedy
  int64_t max_length = 20;           // decoder length including the start token (HF max_length)
  int64_t min_length = 0;            // EOS is banned while the decoder length (start included) is below it
  double length_penalty = 1.0;       // HF: score = sum_logprobs / generated_len^lp; TF: alpha of the GNMT penalty
  EarlyStopping early_stopping = EarlyStopping::False;
  int no_repeat_ngram_size = 0;      // n-grams over the whole decoder sequence, start token included
  int64_t forced_eos_token_id = -1;  // -1 = off; else forced at decoder length max_length-1
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t decoder_start_token_id = 2;
  BeamScoring beam_scoring = BeamScoring::HF;
  bool capture_cross_attention = false;  // per generated token, mean over heads and decoder layers
  // TF scoring stops once no alive beam can change the result; true runs all max_length-1 steps
  // like the TF graph (same output; for tests of that shortcut).
  bool tf_all_steps = false;
};

// HF defaults overlaid with the model's config.json: token ids, and generation keys found in it
// (num_beams, max_length, min_length, length_penalty, early_stopping, no_repeat_ngram_size,
// forced_eos_token_id), as HF's generate() reads them from the model config.
GenerationConfig generation_config_for(const ModelConfig& model);

// One-line bb::Error for settings that cannot run (beams < 1, max_length < 2, ids outside the
// vocabulary, TF scoring combined with HF-only processors, ...).
void validate(const GenerationConfig& g, int64_t vocab_size);

}  // namespace bb::gen
