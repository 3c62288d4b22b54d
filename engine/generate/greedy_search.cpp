// Greedy search as HF generate() runs it with num_beams=1, do_sample=False: processors on the raw
// logits, argmax (first maximal index), pad after a row's EOS, stop when every row has EOS or the
// decoder length reaches max_length.
#include <algorithm>
#include <cmath>

#include "engine/generate/logits_processors.h"
#include "engine/generate/search_common.h"

namespace bb::gen::detail {

GenerationResult greedy_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control) {
  const int64_t B = source.batch(), V = source.vocab_size();
  std::unique_ptr<DecoderSession> session = source.start(1, g.max_length, g.capture_cross_attention);
  std::vector<std::vector<int64_t>> seqs(static_cast<size_t>(B), std::vector<int64_t>{g.decoder_start_token_id});
  std::vector<std::vector<int64_t>> partial(static_cast<size_t>(B));
  std::vector<bool> unfinished(static_cast<size_t>(B), true);
  std::vector<double> sum_logprobs(static_cast<size_t>(B), 0.0);
  std::vector<Trail> trails(static_cast<size_t>(B));
  std::vector<float> scores(static_cast<size_t>(V)), logp(static_cast<size_t>(V));
  GenerationResult res;

  while (int64_t(seqs[0].size()) < g.max_length) {
    if (cancel_requested(control)) {
      res.cancelled = true;
      break;
    }
    std::vector<int64_t> last(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) last[size_t(b)] = seqs[size_t(b)].back();
    const Tensor logits = session->step(last);
    ++res.steps;
    for (int64_t b = 0; b < B; ++b) {
      const float* row = logits.data() + b * V;
      std::copy(row, row + V, scores.begin());
      apply_processors(g, seqs[size_t(b)], scores.data(), V);
      const int64_t tok = std::max_element(scores.begin(), scores.end()) - scores.begin();
      if (!unfinished[size_t(b)]) {
        seqs[size_t(b)].push_back(g.pad_token_id);
        continue;
      }
      log_softmax(row, logp.data(), V);
      sum_logprobs[size_t(b)] += double(logp[size_t(tok)]);
      if (g.capture_cross_attention) trails[size_t(b)] = extend(trails[size_t(b)], session->cross_attention(b));
      seqs[size_t(b)].push_back(tok);
      partial[size_t(b)].push_back(tok);
      if (tok == g.eos_token_id) unfinished[size_t(b)] = false;
    }
    const bool any = std::find(unfinished.begin(), unfinished.end(), true) != unfinished.end();
    if (!report(control, res.steps, g.max_length - 1, partial, false)) {
      res.cancelled = any && int64_t(seqs[0].size()) < g.max_length;
      break;
    }
    if (!any) break;
  }

  for (int64_t b = 0; b < B; ++b) {
    GeneratedOutput out;
    out.sequence = std::move(seqs[size_t(b)]);
    out.score = sum_logprobs[size_t(b)];
    if (g.capture_cross_attention) out.cross_attention = unroll(trails[size_t(b)]);
    derive_tokens(out, g.eos_token_id, g.pad_token_id);
    res.outputs.push_back(std::move(out));
  }
  return res;
}

}  // namespace bb::gen::detail
