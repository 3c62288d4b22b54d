#pragma once
// Dense multi-head attention for the Pegasus decoder in training: causal self-attention and
// cross-attention (queries and keys of different lengths), forward and backward for one batch row.
//   S = Q_h·K_hᵀ/sqrt(d) + penalty (finfo.min where the key is masked, or in the future with causal)
//   P = softmax(S),  ctx_h = P·V_h
// Nothing of size Tq x Tk is kept: the backward recomputes P per head with the forward's operations.
// Heads are side by side in the columns ([rows, heads*head_dim], row strides ldq / ldkv / ldc).
#include <cstdint>

namespace bb::train {

struct DenseAttentionTrainArgs {
  const float* q = nullptr;  // [q_len, ldq]
  const float* k = nullptr;  // [k_len, ldkv]
  const float* v = nullptr;  // [k_len, ldkv]
  int64_t ldq = 0, ldkv = 0, ldc = 0;
  int64_t q_len = 0, k_len = 0;
  int heads = 0, head_dim = 0;
  const float* key_mask = nullptr;  // [k_len] 1 keep / 0 masked, or null
  bool causal = false;              // query i sees keys 0..i (q_len == k_len)
};

// ctx [q_len, ldc] (the head's columns are written).
void dense_attention_train_forward(const DenseAttentionTrainArgs& a, float* ctx);

// dctx [q_len, ldc]; dq [q_len, ldq] and dk, dv [k_len, ldkv] are overwritten (the heads' columns).
void dense_attention_train_backward(const DenseAttentionTrainArgs& a, const float* dctx, float* dq, float* dk,
                                    float* dv);

}  // namespace bb::train
