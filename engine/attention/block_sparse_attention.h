#pragma once
// BigBird ITC block-sparse attention: for every head and query block, one softmax over exactly
// the key blocks the pattern lists (global rows see everything; other rows see block 0, the
// 3-block window, the last block and r random blocks, duplicates kept), masked with -10000 on
// padded keys; context rows of padded queries are zero. Memory is O(L): per worker one
// [block, nk*block] score tile.
#include <cstdint>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"

namespace bb::attn {

struct BlockSparseArgs {
  const float* q = nullptr;  // [L, ldq], head h in columns [h*d, (h+1)*d)
  int64_t ldq = 0;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ldkv = 0;
  int heads = 0, head_dim = 0;
  const BlockPattern* pattern = nullptr;  // L = pattern->padded_len()
  const float* mask = nullptr;            // [L] 1 real token / 0 padding (null = all real)
  float* ctx = nullptr;
  int64_t ldc = 0;
  AttentionMap* capture = nullptr;  // block-structured probabilities when non-null
};

void block_sparse_attention(const BlockSparseArgs& a);

}  // namespace bb::attn
