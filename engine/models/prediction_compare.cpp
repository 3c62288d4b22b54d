#include "engine/models/prediction_compare.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/error.h"

namespace bb {

namespace {

// log(sum(exp(x))) computed stably.
double log_sum_exp(const float* x, int64_t n) {
  const float mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - mx);
  return double(mx) + std::log(sum);
}

}  // namespace

std::vector<TokenProbability> top_predictions(const float* logits, int64_t vocab, int k) {
  if (vocab <= 0) throw Error("top_predictions: empty vocabulary");
  const double lse = log_sum_exp(logits, vocab);
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const size_t n = size_t(std::clamp<int64_t>(k, 0, vocab));
  std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  std::vector<TokenProbability> out;
  for (size_t i = 0; i < n; ++i) out.push_back({order[i], float(std::exp(double(logits[order[i]]) - lse))});
  return out;
}

double kl_divergence(const float* p_logits, const float* q_logits, int64_t vocab) {
  if (vocab <= 0) throw Error("kl_divergence: empty vocabulary");
  const double lp = log_sum_exp(p_logits, vocab), lq = log_sum_exp(q_logits, vocab);
  double kl = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    const double logp = double(p_logits[i]) - lp, logq = double(q_logits[i]) - lq;
    kl += std::exp(logp) * (logp - logq);
  }
  return std::max(0.0, kl);
}

}  // namespace bb
