#version 450
// Block-sparse attention backward, key side: dK and dV for WG rows of one key block (head y,
// batch row z), walking the transposed lists (every query block whose list names this key block,
// once per time it is named), so no atomics are needed:
//   P = exp(s - lse), dV = sum P dO, dS = P * (dO.V - delta), dK = scale * sum dS Q.
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint KT = 32;  // query rows per shared-memory tile

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufMask { float mask[]; };
layout(std430, binding = 4) readonly buffer BufOffsets { uint tlist_offset[]; };  // [heads*nb + 1]
layout(std430, binding = 5) readonly buffer BufBlocks { uint tlist_block[]; };    // query blocks
layout(std430, binding = 6) readonly buffer BufDO { float dout[]; };
layout(std430, binding = 7) readonly buffer BufLse { float lse[]; };
layout(std430, binding = 8) readonly buffer BufDelta { float delta[]; };
layout(std430, binding = 9) buffer BufDK { float dk[]; };
layout(std430, binding = 10) buffer BufDV { float dv[]; };

#include "attention_backward_params.glsl"

shared float Qs[KT * D];
shared float DOs[KT * D];
shared float Lse[KT];
shared float Delta[KT];
shared float Valid[KT];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint kb = p.b_begin + gl_WorkGroupID.x / p.subs;
  const uint r = (gl_WorkGroupID.x % p.subs) * WG + tid;
  const uint h = gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const bool has_mask = (p.flags & HAS_MASK) != 0u;
  const bool live = r < p.block;
  const uint key = kb * p.block + r;
  const float pen = (live && has_mask && mask[z * p.L + key] == 0.0) ? p.penalty : 0.0;

  float kr[D], vr[D], gk[D], gv[D];
  const uint kbase = p.k_off + z * p.kv_batch + key * p.ldkv + h * D;
  const uint vbase = p.v_off + z * p.kv_batch + key * p.ldkv + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) {
    kr[c] = live ? k[kbase + c] : 0.0;
    vr[c] = live ? v[vbase + c] : 0.0;
    gk[c] = 0.0;
    gv[c] = 0.0;
  }

  const uint e0 = tlist_offset[h * p.nb + kb], e1 = tlist_offset[h * p.nb + kb + 1];
  for (uint e = e0; e < e1; ++e) {
    const uint row0 = tlist_block[e] * p.block;
    for (uint t0 = 0; t0 < p.block; t0 += KT) {
      const uint nt = min(KT, p.block - t0);
      for (uint i = tid; i < nt * D; i += WG) {
        const uint row = row0 + t0 + i / D, c = i % D;
        Qs[i] = q[p.q_off + z * p.q_batch + row * p.ldq + h * D + c];
        DOs[i] = dout[p.do_off + z * p.o_batch + row * p.ldo + h * D + c];
      }
      for (uint i = tid; i < nt; i += WG) {
        const uint row = row0 + t0 + i;
        Lse[i] = lse[(z * p.heads + h) * p.L + row];
        Delta[i] = delta[(z * p.heads + h) * p.L + row];
        Valid[i] = (has_mask && mask[z * p.L + row] == 0.0) ? 0.0 : 1.0;
      }
      barrier();
      if (live) {
        for (uint j = 0; j < nt; ++j) {
          if (Valid[j] != 0.0) {
            float s = 0.0, dp = 0.0;
            [[unroll]] for (uint c = 0; c < D; ++c) {
              s += Qs[j * D + c] * kr[c];
              dp += DOs[j * D + c] * vr[c];
            }
            const float pij = exp(s * p.scale + pen - Lse[j]);
            const float ds = pij * (dp - Delta[j]);
            [[unroll]] for (uint c = 0; c < D; ++c) {
              gv[c] += pij * DOs[j * D + c];
              gk[c] += ds * Qs[j * D + c];
            }
          }
        }
      }
      barrier();
    }
  }
  if (!live) return;
  const uint ko = p.dk_off + z * p.kv_batch + key * p.ldkv + h * D;
  const uint vo = p.dv_off + z * p.kv_batch + key * p.ldkv + h * D;
  [[unroll]] for (uint c = 0; c < D; ++c) {
    dk[ko + c] = gk[c] * p.scale;
    dv[vo + c] = gv[c];
  }
}
