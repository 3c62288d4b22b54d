#pragma once
// Analytic cost of one encoder forward: floating-point operations (multiply-add = 2) and the size
// of the attention score buffers, for full vs block-sparse attention. Used by `bigbird bench`
// (achieved GFLOP/s) and by the UI's cost calculator.
#include <cstdint>

#include "engine/models/config.h"

namespace bb {

struct ForwardCost {
  double projection_flops = 0;  // q, k, v, output dense
  double ffn_flops = 0;
  double attention_flops = 0;  // Q·Kᵀ and P·V over computed scores
  double total_flops() const { return projection_flops + ffn_flops + attention_flops; }
  int64_t scores_per_head = 0;  // attention scores computed per head and layer
};

// `sparse` = block_sparse over `len` (a block multiple); otherwise dense len x len attention.
ForwardCost encoder_forward_cost(const ModelConfig& c, int64_t len, bool sparse);

}  // namespace bb
