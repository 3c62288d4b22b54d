#pragma once
// Read-only questions asked of captured attention (AttentionMap), for the Attention Lab views and
// the CLI: one query row or key column for a head or aggregated over heads, block-level mass,
// token tiles of a region, top-k, attention rollout, and how much mass full attention puts
// outside a sparse pattern. Work is proportional to what was captured (tiles for block_sparse),
// so every question stays cheap at 4096 tokens.
#include <cstdint>
#include <vector>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"

namespace bb::attn {

// Which heads a question covers: one head, or the mean / max over all heads.
struct HeadSelect {
  enum Kind { One, Mean, Max } kind = One;
  int head = 0;
  static HeadSelect one(int h) { return {One, h}; }
  static HeadSelect mean() { return {Mean, 0}; }
  static HeadSelect max() { return {Max, 0}; }
};

// What query q gives every key (length key_len).
std::vector<float> attention_row(const AttentionMap& m, HeadSelect heads, int64_t q);
// What every query gives key k (length query_len).
std::vector<float> attention_column(const AttentionMap& m, HeadSelect heads, int64_t k);

// [nb * nb] attention mass from query block qb to key block kb: the mean over the block's query
// rows (only rows < real_len) of the probability summed over the key block's tokens. Each row of
// the result sums to ~1 for a single head; Mean / Max combine the heads' block masses. Blocks are
// `block` tokens (the map's own block when blocked).
std::vector<float> block_mass(const AttentionMap& m, HeadSelect heads, int block, int64_t real_len);

// Probabilities of queries [q0, q1) x keys [k0, k1), row-major into `out` ((q1-q0) * (k1-k0)).
void attention_region(const AttentionMap& m, HeadSelect heads, int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                      float* out);

// Indices of the k largest values among the first `limit` entries, largest first (ties: lower index first).
std::vector<int64_t> top_k(const std::vector<float>& values, int k, int64_t limit);

// Attention rollout (Abnar & Zuidema, 2020) over the given layers, first layer first: each layer
// becomes A' = 0.5 * mean_h(A) + 0.5 * I, and the rollout is A'_last ... A'_first.
// rollout_row: how much each input token contributes to token q at the top (sums to 1).
// rollout_column: how much token k at the input contributes to every token at the top.
// Only tokens < real_len take part (padding is left out and rows are renormalised over real keys).
std::vector<float> rollout_row(const std::vector<const AttentionMap*>& layers, int64_t q, int64_t real_len);
std::vector<float> rollout_column(const std::vector<const AttentionMap*>& layers, int64_t k, int64_t real_len);

// For a dense (full-attention) map: per head, the mean over real query rows of the probability
// placed on keys the sparse pattern does not compute (key blocks with multiplicity 0 for the
// row's query block). Tokens at or beyond real_len are ignored.
std::vector<double> mass_outside_pattern(const AttentionMap& dense, const BlockPattern& pattern, int64_t real_len);

}  // namespace bb::attn
