#version 450
// Dense (full) softmax attention, forward: WG query rows per workgroup, head y, batch row z.
// Keys stream through shared memory KT at a time with an online softmax, so no [Lq, Lk] score
// matrix exists. Handles key masks, causal masks (decoder self-attention), cross attention
// (Lq != Lk) and simulated_sparse (additive block bias + zeroed padded queries).
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint KT = 32;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufKeyMask { float key_mask[]; };    // [batch, Lk]
layout(std430, binding = 4) readonly buffer BufQueryMask { float query_mask[]; };  // [batch, Lq]
layout(std430, binding = 5) readonly buffer BufBias { float block_bias[]; };  // [heads, nbq, nbk]
layout(std430, binding = 6) buffer BufCtx { float ctx[]; };
layout(std430, binding = 7) buffer BufLse { float lse[]; };  // [batch, heads, Lq]

#include "attention_dense_params.glsl"

shared float Ks[KT * D];
shared float Vs[KT * D];
shared float Pen[KT];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row = p.q_begin + gl_WorkGroupID.x * WG + tid;
  const uint h = p.h_begin + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const bool live = row < p.Lq;
  const bool causal = (p.flags & CAUSAL) != 0u, biased = (p.flags & BLOCK_BIAS) != 0u;

  float qr[D], o[D];
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) {
    qr[c] = live ? q[qbase + c] : 0.0;
    o[c] = 0.0;
  }
  float m = FLT_LOWEST, l = 0.0;
  const int last_key = p.causal_offset + int(row);
  const uint bias_row = biased && live ? (h * p.nbq + row / p.block) * p.nbk : 0u;

  const uint kbase = p.k_off + z * p.kv_batch + h * D, vbase = p.v_off + z * p.kv_batch + h * D;
  for (uint t0 = 0; t0 < p.Lk; t0 += KT) {
    const uint nt = min(KT, p.Lk - t0);
    for (uint i = tid; i < nt * D; i += WG) {
      const uint key = t0 + i / D, c = i % D;
      Ks[i] = k[kbase + key * p.ldkv + c];
      Vs[i] = v[vbase + key * p.ldkv + c];
    }
    for (uint i = tid; i < nt; i += WG)
      Pen[i] = ((p.flags & KEY_MASK) != 0u && key_mask[z * p.Lk + t0 + i] == 0.0) ? p.penalty : 0.0;
    barrier();
    if (live) {
      for (uint j = 0; j < nt; ++j) {
        float dot = 0.0;
        [[unroll]] for (uint c = 0; c < D; ++c) dot += qr[c] * Ks[j * D + c];
        float sj = dot * p.scale + Pen[j];
        if (causal && int(t0 + j) > last_key) sj += p.penalty;
        if (biased) sj += block_bias[bias_row + (t0 + j) / p.block];
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

  if (!live) return;
  const bool zero = (p.flags & ZERO_PADDED_QUERIES) != 0u && query_mask[z * p.Lq + row] == 0.0;
  const float inv = 1.0 / l;
  const uint cbase = p.c_off + z * p.c_batch + row * p.ldc + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) ctx[cbase + c] = zero ? 0.0 : o[c] * inv;
  if ((p.flags & WRITE_LSE) != 0u) lse[(z * p.heads + h) * p.Lq + row] = m + log(l);
}
