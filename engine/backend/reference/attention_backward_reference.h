#pragma once
// A plain CPU reference for the gradient of BigBird block-sparse attention (double accumulation,
// no tiling), the yardstick for the Vulkan backward kernels until the training engine brings its
// own CPU backward. Semantics are those of attn::block_sparse_attention: one softmax per query
// row over the listed key blocks (duplicates counted), -10000 on padded keys, padded query rows
// output zero (so they pass no gradient).
#include <cstdint>
#include <vector>

#include "engine/attention/plan.h"

namespace bb::reference {

struct AttentionGrads {
  std::vector<float> dq, dk, dv;  // [L, heads*head_dim], like q, k, v
};

// q, k, v, dout: [L, heads*head_dim] row-major (L = pattern.padded_len()); mask [L] or null.
AttentionGrads block_sparse_attention_backward(const float* q, const float* k, const float* v, const float* dout,
                                               const float* mask, const attn::BlockPattern& pattern, int head_dim);

}  // namespace bb::reference
