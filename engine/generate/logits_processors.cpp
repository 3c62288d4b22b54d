#include "engine/generate/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/fast_math.h"

namespace bb::gen {

std::vector<int64_t> banned_ngram_tokens(const std::vector<int64_t>& seq, int n) {
  std::vector<int64_t> banned;
  const int64_t len = int64_t(seq.size());
  if (n <= 0 || len + 1 < n) return banned;
  // The last n-1 tokens; every earlier occurrence of them bans the token that followed.
  const int64_t prefix = len - (n - 1);
  for (int64_t s = 0; s + n <= len; ++s) {
    bool same = true;
    for (int64_t j = 0; j < n - 1 && same; ++j) same = seq[size_t(s + j)] == seq[size_t(prefix + j)];
    if (same) banned.push_back(seq[size_t(s + n - 1)]);
  }
  return banned;
}

void apply_processors(const GenerationConfig& g, const std::vector<int64_t>& seq, float* scores, int64_t vocab) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int64_t cur_len = int64_t(seq.size());
  if (g.no_repeat_ngram_size > 0)
    for (int64_t t : banned_ngram_tokens(seq, g.no_repeat_ngram_size))
      if (t >= 0 && t < vocab) scores[t] = kNegInf;
  if (g.min_length > 0 && cur_len < g.min_length && g.eos_token_id >= 0) scores[g.eos_token_id] = kNegInf;
  if (g.forced_eos_token_id >= 0 && cur_len == g.max_length - 1) {
    std::fill(scores, scores + vocab, kNegInf);
    scores[g.forced_eos_token_id] = 0.0f;
  }
}

double sum_exp_shifted(const float* x, int64_t n, float shift) {
  // Vectorised exp (<= 2 ulp) summed in float blocks, blocks summed in double: a 96k vocabulary per
  // beam per step would otherwise spend milliseconds in libm.
  double sum = 0.0;
  constexpr int64_t kBlock = 256;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float part = 0.0f;
    for (int64_t i = b; i < e; ++i) part += fast::exp(x[i] - shift);
    sum += part;
  }
  return sum;
}

void log_softmax(const float* x, float* out, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  const float lse = float(std::log(sum_exp_shifted(x, n, mx)));
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - mx) - lse;
}

}  // namespace bb::gen
