#version 450
// Fused BigBird ITC block-sparse attention, forward. One workgroup = WG query rows of one query
// block, for one head (y) and one batch row (z). The key blocks are visited in the order the
// plan lists them, duplicates included (a block listed twice counts twice in the softmax, as on
// the CPU), KT keys at a time staged in shared memory, with an online softmax: no score matrix is
// stored, only a running max m, sum l and the output accumulator per query row.
// lse = m + log(l) is written for the backward pass and for probability captures.
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;   // head dim
layout(constant_id = 2) const uint KT = 32;  // keys per shared-memory tile

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufMask { float mask[]; };  // [batch, L] 1 real / 0 pad
layout(std430, binding = 4) readonly buffer BufOffsets { uint list_offset[]; };  // [heads*nb + 1]
layout(std430, binding = 5) readonly buffer BufBlocks { uint list_block[]; };
layout(std430, binding = 6) buffer BufCtx { float ctx[]; };
layout(std430, binding = 7) buffer BufLse { float lse[]; };  // [batch, heads, L]

#include "attention_sparse_params.glsl"

shared float Ks[KT * D];
shared float Vs[KT * D];
shared float Pen[KT];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint qb = p.b_begin + gl_WorkGroupID.x / p.subs;
  const uint r = (gl_WorkGroupID.x % p.subs) * WG + tid;
  const uint h = p.h_begin + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const bool live = r < p.block;
  const uint row = qb * p.block + r;
  const bool has_mask = (p.flags & HAS_MASK) != 0u;

  float qr[D], o[D];
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) {
    qr[c] = live ? q[qbase + c] : 0.0;
    o[c] = 0.0;
  }
  float m = FLT_LOWEST, l = 0.0;

  const uint kbase = p.k_off + z * p.kv_batch + h * D, vbase = p.v_off + z * p.kv_batch + h * D;
  const uint e0 = list_offset[h * p.nb + qb], e1 = list_offset[h * p.nb + qb + 1];
  for (uint e = e0; e < e1; ++e) {
    const uint key0 = list_block[e] * p.block;
    for (uint t0 = 0; t0 < p.block; t0 += KT) {
      const uint nt = min(KT, p.block - t0);
      for (uint i = tid; i < nt * D; i += WG) {
        const uint key = key0 + t0 + i / D, c = i % D;
        Ks[i] = k[kbase + key * p.ldkv + c];
        Vs[i] = v[vbase + key * p.ldkv + c];
      }
      for (uint i = tid; i < nt; i += WG)
        Pen[i] = (has_mask && mask[z * p.L + key0 + t0 + i] == 0.0) ? p.penalty : 0.0;
      barrier();
      if (live) {
        for (uint j = 0; j < nt; ++j) {
          float dot = 0.0;
          [[unroll]] for (uint c = 0; c < D; ++c) dot += qr[c] * Ks[j * D + c];
          const float sj = dot * p.scale + Pen[j];
          if (sj > m) {  // new running max: rescale what was accumulated so far
            const float corr = exp(m - sj);
            l *= corr;
            [[unroll]] for (uint c = 0; c < D; ++c) o[c] *= corr;
            m = sj;
          }
          const float pj = exp(sj - m);
          l += pj;
          [[unroll]] for (uint c = 0; c < D; ++c) o[c] += pj * Vs[j * D + c];
        }
      }
      barrier();
    }
  }

  if (!live) return;
  const bool zero = (p.flags & ZERO_PADDED_QUERIES) != 0u && has_mask && mask[z * p.L + row] == 0.0;
  const float inv = 1.0 / l;
  const uint cbase = p.c_off + z * p.c_batch + row * p.ldc + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) ctx[cbase + c] = zero ? 0.0 : o[c] * inv;
  if ((p.flags & WRITE_LSE) != 0u) lse[(z * p.heads + h) * p.L + row] = m + log(l);
}
