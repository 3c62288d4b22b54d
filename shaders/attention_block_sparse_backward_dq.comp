#version 450
// Block-sparse attention backward, query side: dQ for WG rows of one query block (head y, batch
// row z), walking the same key list as the forward pass (duplicates count twice):
//   P = exp(s - lse), dS = P * (dO.V - delta), dQ = scale * sum dS K.
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint KT = 32;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufMask { float mask[]; };
layout(std430, binding = 4) readonly buffer BufOffsets { uint list_offset[]; };
layout(std430, binding = 5) readonly buffer BufBlocks { uint list_block[]; };
layout(std430, binding = 6) readonly buffer BufDO { float dout[]; };
layout(std430, binding = 7) readonly buffer BufLse { float lse[]; };
layout(std430, binding = 8) readonly buffer BufDelta { float delta[]; };
layout(std430, binding = 9) buffer BufDQ { float dq[]; };

#include "attention_backward_params.glsl"

shared float Ks[KT * D];
shared float Vs[KT * D];
shared float Pen[KT];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint qb = p.b_begin + gl_WorkGroupID.x / p.subs;
  const uint r = (gl_WorkGroupID.x % p.subs) * WG + tid;
  const uint h = gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const bool has_mask = (p.flags & HAS_MASK) != 0u;
  const uint row = qb * p.block + r;
  const bool live = r < p.block && !(has_mask && mask[z * p.L + min(row, p.L - 1)] == 0.0);

  float qr[D], dor[D], acc[D];
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  const uint dbase = p.do_off + z * p.o_batch + row * p.ldo + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) {
    qr[c] = live ? q[qbase + c] : 0.0;
    dor[c] = live ? dout[dbase + c] : 0.0;
    acc[c] = 0.0;
  }
  const uint stat = (z * p.heads + h) * p.L + min(row, p.L - 1);
  const float row_lse = lse[stat], row_delta = delta[stat];

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
          float s = 0.0, dp = 0.0;
          [[unroll]] for (uint c = 0; c < D; ++c) {
            s += qr[c] * Ks[j * D + c];
            dp += dor[c] * Vs[j * D + c];
          }
          const float pij = exp(s * p.scale + Pen[j] - row_lse);
          const float ds = pij * (dp - row_delta);
          [[unroll]] for (uint c = 0; c < D; ++c) acc[c] += ds * Ks[j * D + c];
        }
      }
      barrier();
    }
  }
  if (r >= p.block) return;
  const uint dst = p.dq_off + z * p.q_batch + row * p.ldq + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) dq[dst + c] = live ? acc[c] * p.scale : 0.0;
}
