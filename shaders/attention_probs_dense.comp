#version 450
// Dense attention probabilities [heads, Lq, Lk] recomputed from Q, K and the forward pass's row
// lse, with the same penalties (for captures). One workgroup per (query row, head).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufKeyMask { float key_mask[]; };
layout(std430, binding = 3) readonly buffer BufBias { float block_bias[]; };
layout(std430, binding = 4) readonly buffer BufLse { float lse[]; };
layout(std430, binding = 5) buffer BufOut { float probs[]; };  // c_off + z*c_batch + ((h-h_begin)*Lq + row)*Lk + key

#include "attention_dense_params.glsl"

shared float Qs[D];

void main() {
  const uint row = p.q_begin + gl_WorkGroupID.x, h = p.h_begin + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  for (uint c = gl_LocalInvocationID.x; c < D; c += WG) Qs[c] = q[qbase + c];
  barrier();
  const float row_lse = lse[(z * p.heads + h) * p.Lq + row];
  const int last_key = p.causal_offset + int(row);
  const uint out0 = p.c_off + z * p.c_batch + ((h - p.h_begin) * p.Lq + row) * p.Lk;
  for (uint key = gl_LocalInvocationID.x; key < p.Lk; key += WG) {
    const uint kbase = p.k_off + z * p.kv_batch + key * p.ldkv + h * D;
    float dot = 0.0;
    for (uint c = 0; c < D; ++c) dot += Qs[c] * k[kbase + c];
    float s = dot * p.scale;
    if ((p.flags & KEY_MASK) != 0u && key_mask[z * p.Lk + key] == 0.0) s += p.penalty;
    if ((p.flags & CAUSAL) != 0u && int(key) > last_key) s += p.penalty;
    if ((p.flags & BLOCK_BIAS) != 0u) s += block_bias[(h * p.nbq + row / p.block) * p.nbk + key / p.block];
    probs[out0 + key] = exp(s - row_lse);
  }
}
