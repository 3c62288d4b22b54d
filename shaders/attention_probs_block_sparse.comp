#version 450
// Attention probabilities of the block-sparse kernel, recomputed from Q, K and the row lse the
// forward pass wrote (for captures: the UI and `forward --attentions`). One workgroup per
// (query block, head): tile (h, qb) is [block, nk*block] in key-list order, like the CPU's
// AttentionMap tiles; the output of batch row z starts at c_off + z * c_batch and holds the tiles
// of heads h_begin.. (dispatch one head per call: tile_offset is relative to head h_begin's first).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufMask { float mask[]; };
layout(std430, binding = 3) readonly buffer BufOffsets { uint list_offset[]; };
layout(std430, binding = 4) readonly buffer BufBlocks { uint list_block[]; };
layout(std430, binding = 5) readonly buffer BufTileOffsets { uint tile_offset[]; };  // [heads*nb + 1]
layout(std430, binding = 6) readonly buffer BufLse { float lse[]; };
layout(std430, binding = 7) buffer BufOut { float probs[]; };

#include "attention_sparse_params.glsl"

void main() {
  const uint qb = p.b_begin + gl_WorkGroupID.x, h = p.h_begin + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const uint e0 = list_offset[h * p.nb + qb], e1 = list_offset[h * p.nb + qb + 1];
  const uint width = (e1 - e0) * p.block;
  const uint out0 = p.c_off + z * p.c_batch + tile_offset[h * p.nb + qb] - tile_offset[p.h_begin * p.nb];
  const bool has_mask = (p.flags & HAS_MASK) != 0u;
  for (uint idx = gl_LocalInvocationID.x; idx < p.block * width; idx += WG) {
    const uint i = idx / width, jj = idx % width;
    const uint row = qb * p.block + i;
    const uint key = list_block[e0 + jj / p.block] * p.block + jj % p.block;
    const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
    const uint kbase = p.k_off + z * p.kv_batch + key * p.ldkv + h * D;
    float dot = 0.0;
    for (uint c = 0; c < D; ++c) dot += q[qbase + c] * k[kbase + c];
    float s = dot * p.scale;
    if (has_mask && mask[z * p.L + key] == 0.0) s += p.penalty;
    probs[out0 + idx] = exp(s - lse[(z * p.heads + h) * p.L + row]);
  }
}
