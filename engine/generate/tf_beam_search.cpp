// The original BigBird beam search (google-research/bigbird core/beam_search.py, branched from
// Pegasus; bigbird-spec.md §6.1), float32 like the TF graph:
//  * alive log-probs start at [0, min, ...]; finished scores at min (min = float32 lowest);
//  * each step: log-probs (logits - logsumexp) + alive log-probs, top 2M over M*V (ties: lower index);
//    a candidate is finished when its sequence contains EOS;
//  * alive = top M of (log-prob + finished*min); finished pool = top M of
//    [old finished, log-prob / ((5+len)/6)^alpha + (1-finished)*min] with len = step+1 (EOS included);
//  * exactly max_length-1 steps; the result is finished slot 0 if it holds EOS, else alive slot 0.
// As in the TF graph, when fewer than M unfinished candidates exist (a vocabulary smaller than the beam),
// EOS-containing candidates tie with the dead beams' float32-min scores and stay alive; their
// continuations then count as finished. With real vocabularies this never happens.
// Steps are skipped once no alive beam can still beat finished slot 0 (a future score is at best
// alive_max / norm(max_len), as log-probs only fall and the norm only grows): same result, less work.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/generate/logits_processors.h"
#include "engine/generate/search_common.h"

namespace bb::gen::detail {

namespace {

constexpr float kMin = std::numeric_limits<float>::lowest();

struct Beam {
  std::vector<int64_t> tokens;  // generated tokens (no start token)
  bool has_eos = false;
  Trail trail;
};

float gnmt_norm(int64_t len, double alpha) { return std::pow((5.0f + float(len)) / 6.0f, float(alpha)); }

}  // namespace

GenerationResult tf_beam_search(Seq2SeqSource& source, const GenerationConfig& g, const GenerationControl& control) {
  const int64_t B = source.batch(), V = source.vocab_size();
  const int M = g.num_beams;
  const int64_t N = B * M, steps = g.max_length - 1;
  std::unique_ptr<DecoderSession> session = source.start(M, g.max_length, g.capture_cross_attention);

  std::vector<Beam> alive(static_cast<size_t>(N));
  std::vector<float> alive_lp(static_cast<size_t>(N), kMin);
  for (int64_t b = 0; b < B; ++b) alive_lp[size_t(b * M)] = 0.0f;
  std::vector<Beam> finished(static_cast<size_t>(N));
  std::vector<float> finished_score(static_cast<size_t>(N), kMin);
  std::vector<std::vector<int64_t>> partial(static_cast<size_t>(B));
  std::vector<float> cand(static_cast<size_t>(M * V));
  const float norm_max = gnmt_norm(steps, g.length_penalty);
  GenerationResult res;
  res.beam = true;

  for (int64_t i = 0; i < steps; ++i) {
    if (cancel_requested(control)) {
      res.cancelled = true;
      break;
    }
    std::vector<int64_t> last(static_cast<size_t>(N));
    for (int64_t r = 0; r < N; ++r)
      last[size_t(r)] = alive[size_t(r)].tokens.empty() ? g.decoder_start_token_id : alive[size_t(r)].tokens.back();
    const Tensor logits = session->step(last);
    ++res.steps;
    const float norm = gnmt_norm(i + 1, g.length_penalty);

    std::vector<int32_t> next_rows(static_cast<size_t>(N));
    std::vector<Beam> next_alive(static_cast<size_t>(N));
    std::vector<float> next_lp(static_cast<size_t>(N));
    bool all_settled = true;
    for (int64_t b = 0; b < B; ++b) {
      for (int j = 0; j < M; ++j) {
        const int64_t r = b * M + j;
        const float* x = logits.data() + r * V;
        const float mx = *std::max_element(x, x + V);
        const float lse = mx + float(std::log(sum_exp_shifted(x, V, mx)));  // tf.reduce_logsumexp
        float* c = cand.data() + j * V;
        for (int64_t v = 0; v < V; ++v) c[v] = (x[v] - lse) + alive_lp[size_t(r)];
      }
      const std::vector<Candidate> top = top_k(cand.data(), M * V, 2 * M);
      std::vector<Beam> grown(top.size());
      std::vector<int32_t> grown_row(top.size());
      std::vector<float> alive_key(top.size()), fin_key(top.size());
      for (size_t k = 0; k < top.size(); ++k) {
        const int64_t r = b * M + top[k].index / V, tok = top[k].index % V;
        grown_row[k] = int32_t(r);
        grown[k].tokens = alive[size_t(r)].tokens;
        grown[k].tokens.push_back(tok);
        grown[k].has_eos = alive[size_t(r)].has_eos || tok == g.eos_token_id;
        if (g.capture_cross_attention) grown[k].trail = extend(alive[size_t(r)].trail, session->cross_attention(r));
        const float flag = grown[k].has_eos ? 1.0f : 0.0f;
        alive_key[k] = top[k].score + flag * kMin;
        fin_key[k] = top[k].score / norm + (1.0f - flag) * kMin;
      }
      // new alive: top M of the grown candidates, finished ones pushed to the bottom
      const std::vector<Candidate> keep = top_k(alive_key.data(), int64_t(alive_key.size()), M);
      for (int j = 0; j < M; ++j) {
        const size_t k = size_t(keep[size_t(j)].index);
        next_rows[size_t(b * M + j)] = grown_row[k];
        next_alive[size_t(b * M + j)] = grown[k];
        next_lp[size_t(b * M + j)] = top[k].score;
      }
      // new finished: top M of [old finished, grown]
      std::vector<float> pool(static_cast<size_t>(M) + top.size());
      for (int j = 0; j < M; ++j) pool[size_t(j)] = finished_score[size_t(b * M + j)];
      for (size_t k = 0; k < top.size(); ++k) pool[size_t(M) + k] = fin_key[k];
      const std::vector<Candidate> fin = top_k(pool.data(), int64_t(pool.size()), M);
      std::vector<Beam> new_fin(static_cast<size_t>(M));
      for (int j = 0; j < M; ++j) {
        const int64_t src = fin[size_t(j)].index;
        new_fin[size_t(j)] = src < M ? finished[size_t(b * M + src)] : grown[size_t(src - M)];
        finished_score[size_t(b * M + j)] = fin[size_t(j)].score;
      }
      for (int j = 0; j < M; ++j) finished[size_t(b * M + j)] = std::move(new_fin[size_t(j)]);

      float best_alive = kMin;
      for (int j = 0; j < M; ++j) best_alive = std::max(best_alive, next_lp[size_t(b * M + j)]);
      const double bound = double(best_alive) / double(norm_max), f0 = double(finished_score[size_t(b * M)]);
      all_settled = all_settled && !g.tf_all_steps && finished[size_t(b * M)].has_eos && bound < f0 - 1e-6 * std::fabs(f0);
    }
    session->reorder(next_rows);
    alive = std::move(next_alive);
    alive_lp = next_lp;
    for (int64_t b = 0; b < B; ++b) partial[size_t(b)] = alive[size_t(b * M)].tokens;
    if (!report(control, res.steps, steps, partial, true)) {
      res.cancelled = i + 1 < steps && !all_settled;
      break;
    }
    if (all_settled) break;
  }

  size_t width = 0;
  std::vector<const Beam*> chosen(static_cast<size_t>(B));
  std::vector<float> score(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const bool use_finished = finished[size_t(b * M)].has_eos;
    chosen[size_t(b)] = use_finished ? &finished[size_t(b * M)] : &alive[size_t(b * M)];
    score[size_t(b)] = use_finished ? finished_score[size_t(b * M)] : alive_lp[size_t(b * M)];
    width = std::max(width, chosen[size_t(b)]->tokens.size() + 1);
  }
  for (int64_t b = 0; b < B; ++b) {
    GeneratedOutput out;
    out.sequence.push_back(g.decoder_start_token_id);
    for (int64_t t : chosen[size_t(b)]->tokens) {
      out.sequence.push_back(t);
      if (t == g.eos_token_id) break;
    }
    out.sequence.resize(width, g.pad_token_id);
    out.score = score[size_t(b)];
    if (g.capture_cross_attention) out.cross_attention = unroll(chosen[size_t(b)]->trail);
    derive_tokens(out, g.eos_token_id, g.pad_token_id);
    res.outputs.push_back(std::move(out));
  }
  return res;
}

}  // namespace bb::gen::detail
