#pragma once
// The BigBird-Pegasus pre-LN decoder (bigbird-spec.md §2.2, §4.3, §5.5) with an incremental
// key/value cache: causal self-attention keys/values grow by the tokens fed; cross-attention keys/
// values are computed once per encoder row and shared by every decoder row reading that row (all
// beams of one document), so beam search never copies the encoder output.
// Feeding a prefix in one call or token by token gives the same logits (cached == uncached).
#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/models/pegasus_weights.h"

namespace bb {

struct PegasusCache {
  int64_t rows = 0;      // decoder rows (batch x beams)
  int64_t capacity = 0;  // most decoder tokens a row can hold
  int64_t length = 0;    // tokens already fed (the same for every row)
  std::vector<Tensor> self_k, self_v;  // per layer [rows, capacity, D]
  Tensor self_mask;                    // [rows, capacity] decoder_attention_mask (1 keep / 0 pad)

  int64_t sources = 0, source_len = 0;   // encoder rows and their length
  std::vector<Tensor> cross_k, cross_v;  // per layer [sources, heads, source_len, head_dim] (HF's past layout)
  Tensor source_mask;                    // [sources, source_len]
  std::vector<int32_t> row_source;       // [rows]: the encoder row each decoder row attends to
};

// Cross-attention probabilities of the last decode() call, averaged over heads (and over the chosen
// layers): [rows, new tokens, source_len]. Filled only when requested.
struct CrossAttentionCapture {
  bool enabled = false;
  int layer = -1;  // -1 = mean over all decoder layers
  Tensor probs;
};

// encoder_hidden [sources, source_len, D], source_mask [sources, source_len] (0/1 floats).
PegasusCache start_pegasus_cache(const PegasusWeights& w, const ModelConfig& c, const Tensor& encoder_hidden,
                                 const Tensor& source_mask, std::vector<int32_t> row_source, int64_t capacity);

// Row i continues what row src[i] was (beam search reordering). Only rows that change are copied.
void reorder_pegasus_cache(PegasusCache& cache, const std::vector<int32_t>& src);

// Feeds `count` new tokens per row (ids [rows, count]); `token_mask` [rows, count] (1 keep / 0 pad) or null.
// Returns logits [rows, count, V] when all_positions, else [rows, V] of each row's last new token.
Tensor pegasus_decode(const PegasusWeights& w, const ModelConfig& c, PegasusCache& cache, const int64_t* ids,
                      int64_t count, const float* token_mask, bool all_positions,
                      CrossAttentionCapture* capture = nullptr);

}  // namespace bb
