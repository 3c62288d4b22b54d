// Beam search with the semantics of transformers' BeamSearchScorer / BeamHypotheses (2024,
// decoder_prompt_len-aware; the "hf2024" reference of tests/data/generation/README.md):
//  * running scores start at [0, -1e9, ...] so step 0 expands beam 0 only;
//  * candidates = log_softmax(logits) -> processors -> + running score (float32); top 2*num_beams;
//  * an EOS candidate ranked >= num_beams is skipped, otherwise its beam becomes a hypothesis with
//    score = sum_logprobs / generated_len^length_penalty (double; generated_len includes the EOS);
//  * an item is done once it holds num_beams hypotheses and early_stopping says so (true; false: the
//    worst kept score beats the best candidate of this step at the current length; "never": at
//    max_length-1 when length_penalty > 0); done items are frozen;
//  * at max_length the running beams of unfinished items are added with length max_length-1.
#include <algorithm>
#include <cmath>

#include "engine/generate/logits_processors.h"
#include "engine/generate/search_common.h"

namespace bb::gen::detail {

namespace {

struct Hypothesis {
  double score;
  std::vector<int64_t> tokens;  // start token included, EOS excluded
  Trail trail;
  bool eos;       // ended with EOS (false: a running beam added at max_length or on cancellation)
  int64_t order;  // insertion order (ties: HF keeps the earlier one when dropping, returns the later one)
};

class Hypotheses {
 public:
  Hypotheses(int num_beams, double length_penalty, EarlyStopping es)
      : nb_(num_beams), lp_(length_penalty), es_(es) {}

  void add(std::vector<int64_t> tokens, double sum_logprobs, int64_t length, Trail trail, bool eos) {
    // length 0 only for a run cancelled before its first step
    const double score = length > 0 ? sum_logprobs / std::pow(double(length), lp_) : sum_logprobs;
    if (int(hyps_.size()) < nb_ || score > worst_) {
      hyps_.push_back({score, std::move(tokens), std::move(trail), eos, next_order_++});
      if (int(hyps_.size()) > nb_) {
        // sorted((score, index)): drop the lowest (earliest on ties); worst = the next one
        std::vector<size_t> idx(hyps_.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
          return hyps_[a].score < hyps_[b].score || (hyps_[a].score == hyps_[b].score && a < b);
        });
        worst_ = hyps_[idx[1]].score;
        hyps_.erase(hyps_.begin() + long(idx[0]));
      } else {
        worst_ = std::min(score, worst_);
      }
    }
  }

  bool is_done(double best_sum_logprobs, int64_t cur_len, int64_t max_len) const {
    if (int(hyps_.size()) < nb_) return false;
    if (es_ == EarlyStopping::True) return true;
    const int64_t len = (es_ == EarlyStopping::Never && lp_ > 0.0) ? max_len : cur_len;
    return worst_ >= best_sum_logprobs / std::pow(double(len), lp_);
  }

  // Highest score; on a tie the later hypothesis (HF sorts stably and pops the last).
  const Hypothesis& best() const {
    const Hypothesis* b = &hyps_.front();
    for (const Hypothesis& h : hyps_)
      if (h.score > b->score || (h.score == b->score && h.order > b->order)) b = &h;
    return *b;
  }

 private:
  int nb_;
  double lp_;
  EarlyStopping es_;
  std::vector<Hypothesis> hyps_;
  double worst_ = 1e9;
  int64_t next_order_ = 0;
};

}  // namespace

GenerationResult hf_beam_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control) {
  const int64_t B = source.batch(), V = source.vocab_size();
  const int nb = g.num_beams;
  const int64_t N = B * nb;
  std::unique_ptr<DecoderSession> session = source.start(nb, g.max_length, g.capture_cross_attention);

  std::vector<std::vector<int64_t>> seqs(static_cast<size_t>(N), std::vector<int64_t>{g.decoder_start_token_id});
  std::vector<Trail> trails(static_cast<size_t>(N));
  std::vector<float> beam_scores(static_cast<size_t>(N), -1e9f);
  for (int64_t b = 0; b < B; ++b) beam_scores[size_t(b * nb)] = 0.0f;
  std::vector<Hypotheses> hyps(static_cast<size_t>(B), Hypotheses(nb, g.length_penalty, g.early_stopping));
  std::vector<bool> done(static_cast<size_t>(B), false);
  std::vector<std::vector<int64_t>> partial(static_cast<size_t>(B));
  std::vector<float> cand(static_cast<size_t>(nb * V));
  GenerationResult res;
  res.beam = true;

  while (true) {
    if (cancel_requested(control)) {
      res.cancelled = true;
      break;
    }
    std::vector<int64_t> last(static_cast<size_t>(N));
    for (int64_t r = 0; r < N; ++r) last[size_t(r)] = seqs[size_t(r)].back();
    const Tensor logits = session->step(last);
    ++res.steps;
    const int64_t cur_len = int64_t(seqs[0].size());

    std::vector<float> next_scores(static_cast<size_t>(N), 0.0f);
    std::vector<int64_t> next_tokens(static_cast<size_t>(N), g.pad_token_id);
    std::vector<int32_t> next_rows(static_cast<size_t>(N));
    for (int64_t r = 0; r < N; ++r) next_rows[size_t(r)] = int32_t(r);  // frozen items keep their rows
    std::vector<std::vector<float>> attention(static_cast<size_t>(N));
    if (g.capture_cross_attention)
      for (int64_t r = 0; r < N; ++r) attention[size_t(r)] = session->cross_attention(r);

    for (int64_t b = 0; b < B; ++b) {
      if (done[size_t(b)]) continue;
      for (int j = 0; j < nb; ++j) {
        const int64_t r = b * nb + j;
        float* c = cand.data() + j * V;
        log_softmax(logits.data() + r * V, c, V);
        apply_processors(g, seqs[size_t(r)], c, V);
        for (int64_t v = 0; v < V; ++v) c[v] += beam_scores[size_t(r)];
      }
      const std::vector<Candidate> top = top_k(cand.data(), nb * V, 2 * nb);
      int k = 0;
      for (int rank = 0; rank < int(top.size()) && k < nb; ++rank) {
        const int64_t beam = top[size_t(rank)].index / V, tok = top[size_t(rank)].index % V;
        const int64_t r = b * nb + beam;
        if (tok == g.eos_token_id) {
          if (rank >= nb) continue;
          Trail t = g.capture_cross_attention ? extend(trails[size_t(r)], attention[size_t(r)]) : Trail();
          hyps[size_t(b)].add(seqs[size_t(r)], double(top[size_t(rank)].score), cur_len, std::move(t), true);
        } else {
          const int64_t dst = b * nb + k++;
          next_scores[size_t(dst)] = top[size_t(rank)].score;
          next_tokens[size_t(dst)] = tok;
          next_rows[size_t(dst)] = int32_t(r);
        }
      }
      done[size_t(b)] = hyps[size_t(b)].is_done(double(top.front().score), cur_len, g.max_length - 1);
    }

    session->reorder(next_rows);
    std::vector<std::vector<int64_t>> new_seqs(static_cast<size_t>(N));
    std::vector<Trail> new_trails(static_cast<size_t>(N));
    for (int64_t r = 0; r < N; ++r) {
      const int32_t src = next_rows[size_t(r)];
      new_seqs[size_t(r)] = seqs[size_t(src)];
      new_seqs[size_t(r)].push_back(next_tokens[size_t(r)]);
      if (g.capture_cross_attention) new_trails[size_t(r)] = extend(trails[size_t(src)], attention[size_t(src)]);
    }
    seqs = std::move(new_seqs);
    trails = std::move(new_trails);
    beam_scores = next_scores;

    for (int64_t b = 0; b < B; ++b) {
      if (done[size_t(b)]) {  // frozen: its result is the best finished hypothesis
        const Hypothesis& h = hyps[size_t(b)].best();
        partial[size_t(b)].assign(h.tokens.begin() + 1, h.tokens.end());
        if (h.eos) partial[size_t(b)].push_back(g.eos_token_id);
      } else {
        partial[size_t(b)].assign(seqs[size_t(b * nb)].begin() + 1, seqs[size_t(b * nb)].end());
      }
    }
    const bool all_done = std::find(done.begin(), done.end(), false) == done.end();
    const bool at_max = int64_t(seqs[0].size()) >= g.max_length;
    if (!report(control, res.steps, g.max_length - 1, partial, true)) {
      res.cancelled = !all_done && !at_max;
      break;
    }
    if (all_done || at_max) break;
  }

  // finalize: the running beams of items that are not done (also after a cancellation)
  for (int64_t b = 0; b < B; ++b) {
    if (done[size_t(b)]) continue;
    for (int j = 0; j < nb; ++j) {
      const int64_t r = b * nb + j;
      hyps[size_t(b)].add(seqs[size_t(r)], double(beam_scores[size_t(r)]), int64_t(seqs[size_t(r)].size()) - 1,
                          trails[size_t(r)], false);
    }
  }
  size_t width = 0;
  for (int64_t b = 0; b < B; ++b) width = std::max(width, hyps[size_t(b)].best().tokens.size() + 1);
  width = std::min(width, size_t(g.max_length));
  for (int64_t b = 0; b < B; ++b) {
    const Hypothesis& h = hyps[size_t(b)].best();
    GeneratedOutput out;
    out.sequence = h.tokens;
    // HF appends EOS to every best hypothesis shorter than the width; a cancelled run only to real ones.
    if (out.sequence.size() < width && (h.eos || !res.cancelled)) out.sequence.push_back(g.eos_token_id);
    out.sequence.resize(std::max(width, out.sequence.size()), g.pad_token_id);
    out.score = h.score;
    if (g.capture_cross_attention) out.cross_attention = unroll(h.trail);
    derive_tokens(out, g.eos_token_id, g.pad_token_id);
    res.outputs.push_back(std::move(out));
  }
  return res;
}

}  // namespace bb::gen::detail
