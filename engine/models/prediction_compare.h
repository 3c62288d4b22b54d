#pragma once
// Comparing two output distributions given as logits (e.g. the MLM head of block_sparse and of
// original_full on the same input): top-k with probabilities and the KL divergence.
#include <cstdint>
#include <vector>

namespace bb {

struct TokenProbability {
  int32_t id;
  float probability;
};

// The k most likely ids of softmax(logits[0, vocab)), best first (ties: lower id first).
std::vector<TokenProbability> top_predictions(const float* logits, int64_t vocab, int k);

// KL(P || Q) in nats, where P = softmax(p_logits) and Q = softmax(q_logits).
double kl_divergence(const float* p_logits, const float* q_logits, int64_t vocab);

}  // namespace bb
