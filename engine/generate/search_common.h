#pragma once
// Pieces shared by the search algorithms (internal to engine/generate).
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/generate/generate.h"

namespace bb::gen::detail {

// Per-token cross-attention of a hypothesis as a persistent list: beams with a common prefix share
// it, so reordering beams copies pointers, not attention vectors.
struct TrailNode {
  std::vector<float> weights;
  std::shared_ptr<const TrailNode> prev;
};
using Trail = std::shared_ptr<const TrailNode>;
Trail extend(const Trail& t, std::vector<float> weights);
std::vector<std::vector<float>> unroll(const Trail& t);

struct Candidate {
  float score;
  int64_t index;
};
// The k best of scores[0, n): higher score first, ties broken by the lower index (as TF's top_k;
// torch.topk leaves ties unspecified and the HF fixtures contain none).
std::vector<Candidate> top_k(const float* scores, int64_t n, int k);

// True when the caller asked to stop (cancel flag set).
bool cancel_requested(const GenerationControl& control);
// Reports progress; false when the callback asks to stop.
bool report(const GenerationControl& control, int64_t step, int64_t max_steps,
            const std::vector<std::vector<int64_t>>& partial, bool beam);

// Fills tokens / ends_with_eos from `sequence` (after the start token, up to and including the first EOS).
void derive_tokens(GeneratedOutput& out, int64_t eos, int64_t pad);

GenerationResult greedy_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control);
GenerationResult hf_beam_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control);
GenerationResult tf_beam_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control);

}  // namespace bb::gen::detail
