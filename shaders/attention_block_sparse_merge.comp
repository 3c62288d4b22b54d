#version 450
// Split-K merge of the block-sparse forward: a long key-block list was walked by several work
// items, each leaving an unnormalised output o_i with its running max m_i and sum l_i. With
// M = max m_i and L = sum l_i exp(m_i - M), the row's output is sum o_i exp(m_i - M) / L and its
// lse is M + log(L): exactly the single-pass result up to fp32 rounding. One workgroup per query
// row of a split (head, query block), threads over the head dimension, batch row z.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;

layout(std430, binding = 0) readonly buffer BufMask { float mask[]; };  // [batch, L] 1 real / 0 pad
// (head*nb + query block, first scratch slot, parts, 0)
layout(std430, binding = 1) readonly buffer BufMerges { uvec4 merges[]; };
layout(std430, binding = 2) readonly buffer BufPartO { float part_o[]; };    // [batch, slots, block, D]
layout(std430, binding = 3) readonly buffer BufPartML { vec2 part_ml[]; };  // [batch, slots, block]
layout(std430, binding = 4) buffer BufCtx { float ctx[]; };
layout(std430, binding = 5) buffer BufLse { float lse[]; };  // [batch, heads, L]

#include "attention_sparse_params.glsl"

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uvec4 mi = merges[p.b_begin + gl_WorkGroupID.x / p.block];
  const uint h = mi.x / p.nb, qb = mi.x % p.nb, first = mi.y, parts = mi.z;
  const uint r = gl_WorkGroupID.x % p.block, z = gl_WorkGroupID.z;
  const uint row = qb * p.block + r;
  const uint part0 = (z * p.slots + first) * p.block + r;  // part i is at part0 + i * block

  float big_m = FLT_LOWEST;
  for (uint i = 0; i < parts; ++i) big_m = max(big_m, part_ml[part0 + i * p.block].x);
  float big_l = 0.0;
  for (uint i = 0; i < parts; ++i) {
    const vec2 ml = part_ml[part0 + i * p.block];
    big_l += ml.y * exp(ml.x - big_m);
  }

  const bool zero = (p.flags & ZERO_PADDED_QUERIES) != 0u && (p.flags & HAS_MASK) != 0u && mask[z * p.L + row] == 0.0;
  const float inv = 1.0 / big_l;
  const uint cbase = p.c_off + z * p.c_batch + row * p.ldc + h * D;
  for (uint c = tid; c < D; c += WG) {
    float acc = 0.0;
    for (uint i = 0; i < parts; ++i)
      acc += part_o[(part0 + i * p.block) * D + c] * exp(part_ml[part0 + i * p.block].x - big_m);
    ctx[cbase + c] = zero ? 0.0 : acc * inv;
  }
  if (tid == 0u && (p.flags & WRITE_LSE) != 0u) lse[(z * p.heads + h) * p.L + row] = big_m + log(big_l);
}
