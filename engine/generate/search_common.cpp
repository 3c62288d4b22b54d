#include "engine/generate/search_common.h"

#include <algorithm>

#include "engine/core/error.h"

namespace bb::gen {

namespace detail {

Trail extend(const Trail& t, std::vector<float> weights) {
  auto node = std::make_shared<TrailNode>();
  node->weights = std::move(weights);
  node->prev = t;
  return node;
}

std::vector<std::vector<float>> unroll(const Trail& t) {
  std::vector<std::vector<float>> out;
  for (const TrailNode* n = t.get(); n; n = n->prev.get()) out.push_back(n->weights);
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Candidate> top_k(const float* scores, int64_t n, int k) {
  auto better = [](const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  };
  std::vector<Candidate> best;
  best.reserve(size_t(k) + 1);
  for (int64_t i = 0; i < n; ++i) {
    const Candidate c{scores[i], i};
    if (int(best.size()) == k && !better(c, best.back())) continue;
    auto pos = std::upper_bound(best.begin(), best.end(), c, better);
    best.insert(pos, c);
    if (int(best.size()) > k) best.pop_back();
  }
  return best;
}

bool cancel_requested(const GenerationControl& control) {
  return control.cancel && control.cancel->load(std::memory_order_relaxed);
}

bool report(const GenerationControl& control, int64_t step, int64_t max_steps,
            const std::vector<std::vector<int64_t>>& partial, bool beam) {
  if (!control.on_step) return true;
  StepUpdate u;
  u.step = step;
  u.max_steps = max_steps;
  u.partial = &partial;
  u.beam = beam;
  return control.on_step(u);
}

void derive_tokens(GeneratedOutput& out, int64_t eos, int64_t pad) {
  out.tokens.clear();
  out.ends_with_eos = false;
  for (size_t i = 1; i < out.sequence.size(); ++i) {
    out.tokens.push_back(out.sequence[i]);
    if (out.sequence[i] == eos) {
      out.ends_with_eos = true;
      break;
    }
  }
  if (!out.ends_with_eos)
    while (!out.tokens.empty() && out.tokens.back() == pad) out.tokens.pop_back();
  if (out.cross_attention.size() > out.tokens.size()) out.cross_attention.resize(out.tokens.size());
}

}  // namespace detail

GenerationResult generate(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control) {
  validate(g, source.vocab_size());
  if (source.batch() < 1) throw Error("generate: no inputs");
  if (g.max_length > source.max_decoder_length())
    throw Error("max_length " + std::to_string(g.max_length) + " exceeds what the decoder can hold (" +
                std::to_string(source.max_decoder_length()) + " positions)");
  if (g.num_beams == 1) return detail::greedy_search(source, g, control);
  if (g.beam_scoring == BeamScoring::TF) return detail::tf_beam_search(source, g, control);
  return detail::hf_beam_search(source, g, control);
}

}  // namespace bb::gen
