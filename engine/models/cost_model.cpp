#include "engine/models/cost_model.h"

namespace bb {

ForwardCost encoder_forward_cost(const ModelConfig& c, int64_t len, bool sparse) {
  ForwardCost f;
  const double L = double(len), H = double(c.hidden_size), I = double(c.intermediate_size);
  const double layers = c.num_hidden_layers, heads = c.num_attention_heads, d = double(c.head_dim());
  f.projection_flops = layers * 4 * 2 * L * H * H;
  f.ffn_flops = layers * 2 * 2 * L * H * I;
  if (sparse) {
    const int64_t b = c.block_size, nb = len / b, r = c.num_random_blocks;
    const int64_t pairs = 2 * nb + 2 * (4 + r) + (nb - 4) * (5 + r);
    f.scores_per_head = pairs * b * b;
  } else {
    f.scores_per_head = len * len;
  }
  f.attention_flops = layers * heads * 2 * 2 * double(f.scores_per_head) * d;
  return f;
}

}  // namespace bb
