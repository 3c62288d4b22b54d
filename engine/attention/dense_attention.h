#pragma once
// Dense softmax attention for every head: original_full (encoder, decoder self/cross attention)
// and simulated_sparse (dense scores restricted to the block pattern). Works on query chunks so no
// L x L buffer exists unless the caller asks for a capture.
#include <cstdint>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"

namespace bb::attn {

struct DenseAttentionArgs {
  // Head h of q/k/v/ctx lives in columns [h*head_dim, (h+1)*head_dim) of each row.
  const float* q = nullptr;
  int64_t ldq = 0;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ldkv = 0;
  int64_t query_len = 0, key_len = 0;
  int heads = 0, head_dim = 0;
  float scale = 0.0f;  // 0 = 1/sqrt(head_dim)

  const float* key_mask = nullptr;  // [key_len]: 1 keep, 0 masked (adds mask_penalty)
  float mask_penalty = -10000.0f;   // HF dense attention uses finfo(float32).min
  bool causal = false;              // query i sees keys <= causal_offset + i
  int64_t causal_offset = 0;

  // simulated_sparse: scores outside the pattern get -10000, a key block attended m times gets
  // +log(m), so the probabilities equal block_sparse's (duplicates summed). Rows of padded
  // queries are zeroed like block_sparse does.
  const BlockPattern* simulated_pattern = nullptr;
  const float* query_mask = nullptr;  // [query_len]: rows with 0 get a zero context (sparse semantics)

  float* ctx = nullptr;
  int64_t ldc = 0;
  AttentionMap* capture = nullptr;  // dense probabilities when non-null
};

void dense_attention(const DenseAttentionArgs& a);

}  // namespace bb::attn
