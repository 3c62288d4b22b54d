#version 450
// Dense (full) softmax attention, forward: WG query rows per workgroup, head y, batch row z.
// Keys stream through shared memory KT at a time with an online softmax, so no [Lq, Lk] score
// matrix exists. Handles key masks, causal masks (decoder self-attention), cross attention
// (Lq != Lk) and simulated_sparse (additive block bias + zeroed padded queries).
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint KT = 32;  // keys per shared-memory tile (a multiple of G)
const uint D4 = (D + 3) / 4;                 // head dim in vec4s (zero padded)
const uint G = 4;  // keys scored together: independent dot chains and one rescale per group

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufKeyMask { float key_mask[]; };    // [batch, Lk]
layout(std430, binding = 4) readonly buffer BufQueryMask { float query_mask[]; };  // [batch, Lq]
layout(std430, binding = 5) readonly buffer BufBias { float block_bias[]; };  // [heads, nbq, nbk]
layout(std430, binding = 6) buffer BufCtx { float ctx[]; };
layout(std430, binding = 7) buffer BufLse { float lse[]; };  // [batch, heads, Lq]

#include "attention_dense_params.glsl"

shared vec4 Ks[KT * D4];
shared vec4 Vs[KT * D4];
shared float Pen[KT];

float load_or_zero(bool ok, uint i, uint which) {  // which: 0 q, 1 k, 2 v
  if (!ok) return 0.0;
  return which == 0u ? q[i] : (which == 1u ? k[i] : v[i]);
}

vec4 load4(uint base, uint c4, uint which) {
  const uint c = c4 * 4u;
  return vec4(load_or_zero(c < D, base + c, which), load_or_zero(c + 1u < D, base + c + 1u, which),
              load_or_zero(c + 2u < D, base + c + 2u, which), load_or_zero(c + 3u < D, base + c + 3u, which));
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row = p.q_begin + gl_WorkGroupID.x * WG + tid;
  const uint h = p.h_begin + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  const bool live = row < p.Lq;
  const bool causal = (p.flags & CAUSAL) != 0u, biased = (p.flags & BLOCK_BIAS) != 0u;

  vec4 qr[D4], o[D4];
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  [[unroll]] for (uint c = 0; c < D4; ++c) {
    qr[c] = live ? load4(qbase, c, 0u) : vec4(0.0);
    o[c] = vec4(0.0);
  }
  float m = FLT_LOWEST, l = 0.0;
  const int last_key = p.causal_offset + int(row);
  const uint bias_row = biased && live ? (h * p.nbq + row / p.block) * p.nbk : 0u;

  const uint kbase = p.k_off + z * p.kv_batch + h * D, vbase = p.v_off + z * p.kv_batch + h * D;
  for (uint t0 = 0; t0 < p.Lk; t0 += KT) {
    const uint nt = min(KT, p.Lk - t0), nt_padded = (nt + G - 1) / G * G;
    for (uint i = tid; i < nt_padded * D4; i += WG) {  // keys nt.. of the last group are zeros
      const uint j = i / D4, key = t0 + j, c4 = i % D4;
      Ks[i] = j < nt ? load4(kbase + key * p.ldkv, c4, 1u) : vec4(0.0);
      Vs[i] = j < nt ? load4(vbase + key * p.ldkv, c4, 2u) : vec4(0.0);
    }
    for (uint i = tid; i < nt_padded; i += WG)
      Pen[i] = (i < nt && (p.flags & KEY_MASK) != 0u && key_mask[z * p.Lk + t0 + i] == 0.0) ? p.penalty : 0.0;
    barrier();
    if (live) {
      for (uint j0 = 0; j0 < nt; j0 += G) {
        // G independent dot products (a partial last group scores zero keys, dropped below).
        float s[G];
        [[unroll]] for (uint g = 0; g < G; ++g) s[g] = 0.0;
        [[unroll]] for (uint c = 0; c < D4; ++c) {
          [[unroll]] for (uint g = 0; g < G; ++g) s[g] += dot(qr[c], Ks[(j0 + g) * D4 + c]);
        }
        float mg = m;
        [[unroll]] for (uint g = 0; g < G; ++g) {
          const uint key = t0 + j0 + g;
          s[g] = s[g] * p.scale + Pen[j0 + g];
          if (causal && int(key) > last_key) s[g] += p.penalty;
          if (biased && j0 + g < nt) s[g] += block_bias[bias_row + key / p.block];
          if (j0 + g < nt) mg = max(mg, s[g]);
        }
        if (mg > m) {  // new running max: rescale what was accumulated so far
          const float corr = exp(m - mg);
          l *= corr;
          [[unroll]] for (uint c = 0; c < D4; ++c) o[c] *= corr;
          m = mg;
        }
        float pr[G];
        [[unroll]] for (uint g = 0; g < G; ++g) {
          pr[g] = j0 + g < nt ? exp(s[g] - m) : 0.0;
          l += pr[g];
        }
        [[unroll]] for (uint c = 0; c < D4; ++c) {
          [[unroll]] for (uint g = 0; g < G; ++g) o[c] += pr[g] * Vs[(j0 + g) * D4 + c];
        }
      }
    }
    barrier();
  }

  if (!live) return;
  const bool zero = (p.flags & ZERO_PADDED_QUERIES) != 0u && query_mask[z * p.Lq + row] == 0.0;
  const float inv = 1.0 / l;
  const uint cbase = p.c_off + z * p.c_batch + row * p.ldc + h * D;
  [[unroll]] for (uint c = 0; c < D4; ++c) {
    [[unroll]] for (uint i = 0; i < 4; ++i)
      if (c * 4u + i < D) ctx[cbase + c * 4u + i] = zero ? 0.0 : o[c][i] * inv;
  }
  if ((p.flags & WRITE_LSE) != 0u) lse[(z * p.heads + h) * p.Lq + row] = m + log(l);
}
