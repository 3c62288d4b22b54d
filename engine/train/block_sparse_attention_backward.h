#pragma once
// Backward of attn::block_sparse_attention for one batch row (see attention_train.h). Work is split
// by head: each head owns its dK/dV, so the scatter of the gathered key/value gradients back to their
// blocks needs no locks and sums duplicates in a fixed order.
#include "engine/train/attention_train.h"

namespace bb::train {

void block_sparse_attention_backward(const AttentionTrainArgs& a, const float* dctx, float* dq, float* dk, float* dv);

}  // namespace bb::train
