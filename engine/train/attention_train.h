#pragma once
// Attention for training: the forward (the inference kernels themselves, plus attention-probability
// dropout for original_full as HF trains it) and the backward of block_sparse, original_full and
// simulated_sparse attention for one batch row.
//
// Nothing of size L x L or of the score tiles is stored between forward and backward: the backward
// recomputes each tile's probabilities with the forward's exact operations (same GEMM shapes, same
// mask, same softmax), so memory stays O(L) for block_sparse. Block-sparse backward visits only the
// computed tiles; a key block listed twice in one softmax (random block = window/global block) gets
// both gradients added, exactly as the duplicated columns contribute in the forward.
#include <cstdint>

#include "engine/attention/plan.h"

namespace bb::train {

struct AttentionTrainArgs {
  // One batch row: [len, ld] each, head h in columns [h*head_dim, (h+1)*head_dim).
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t ld = 0;
  int64_t len = 0;
  int heads = 0, head_dim = 0;
  const float* mask = nullptr;  // [len] 1 real / 0 padding
  attn::AttentionType type = attn::AttentionType::BlockSparse;
  const attn::BlockPattern* pattern = nullptr;  // block_sparse and simulated_sparse
  float dropout = 0.0f;                         // attention-probability dropout (original_full only, as HF)
  uint64_t dropout_key = 0;
};

// ctx [len, ld]. With dropout == 0 this is exactly the inference kernel's result.
void attention_train_forward(const AttentionTrainArgs& a, float* ctx);

// dq, dk, dv [len, ld] are overwritten. dctx rows of padded queries are ignored where the forward
// zeroed them (block_sparse, simulated_sparse).
void attention_backward(const AttentionTrainArgs& a, const float* dctx, float* dq, float* dk, float* dv);

}  // namespace bb::train
