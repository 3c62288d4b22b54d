#version 450
// Fused BigBird ITC block-sparse attention, forward. One workgroup = WG query rows of one work
// item, for one batch row (z). A work item is a (head, query block) and a contiguous range of its
// key-block list: short lists are one item, long ones (the global query blocks walk every key
// block) are split into several items (split-K) so no workgroup walks far longer than the median
// and the long rows stop being the critical path. The key blocks are visited in the order the
// plan lists them, duplicates included (a block listed twice counts twice in the softmax, as on
// the CPU), KT keys at a time staged in shared memory, with an online softmax: no score matrix is
// stored, only a running max m, sum l and the output accumulator per query row.
// A whole item writes ctx and lse = m + log(l) (backward pass, probability captures); a part of a
// split list writes its unnormalised (o, m, l) to a scratch slot and
// attention_block_sparse_merge.comp combines the parts.
#extension GL_EXT_control_flow_attributes : enable
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;   // head dim
layout(constant_id = 2) const uint KT = 32;  // keys per shared-memory tile (a multiple of G)
const uint D4 = (D + 3) / 4;                 // head dim in vec4s (zero padded)
const uint G = 4;  // keys scored together: independent dot chains and one rescale per group

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) readonly buffer BufMask { float mask[]; };  // [batch, L] 1 real / 0 pad
layout(std430, binding = 4) readonly buffer BufOffsets { uint list_offset[]; };  // [heads*nb + 1]
layout(std430, binding = 5) readonly buffer BufBlocks { uint list_block[]; };
layout(std430, binding = 6) buffer BufCtx { float ctx[]; };
layout(std430, binding = 7) buffer BufLse { float lse[]; };  // [batch, heads, L]
// (head*nb + query block, first list entry, end entry, scratch slot or NO_SLOT)
layout(std430, binding = 8) readonly buffer BufItems { uvec4 items[]; };
layout(std430, binding = 9) buffer BufPartO { float part_o[]; };     // [batch, slots, block, D]
layout(std430, binding = 10) buffer BufPartML { vec2 part_ml[]; };  // [batch, slots, block] (m, l)

#include "attention_sparse_params.glsl"

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
  const uvec4 item = items[p.b_begin + gl_WorkGroupID.x / p.subs];
  const uint h = item.x / p.nb, qb = item.x % p.nb, e0 = item.y, e1 = item.z, slot = item.w;
  const uint r = (gl_WorkGroupID.x % p.subs) * WG + tid;
  const uint z = gl_WorkGroupID.z;
  const bool live = r < p.block;
  const uint row = qb * p.block + r;
  const bool has_mask = (p.flags & HAS_MASK) != 0u;

  vec4 qr[D4], o[D4];
  const uint qbase = p.q_off + z * p.q_batch + row * p.ldq + h * D;
  [[unroll]] for (uint c = 0; c < D4; ++c) {
    qr[c] = live ? load4(qbase, c, 0u) : vec4(0.0);
    o[c] = vec4(0.0);
  }
  float m = FLT_LOWEST, l = 0.0;

  const uint kbase = p.k_off + z * p.kv_batch + h * D, vbase = p.v_off + z * p.kv_batch + h * D;
  for (uint e = e0; e < e1; ++e) {
    const uint key0 = list_block[e] * p.block;
    for (uint t0 = 0; t0 < p.block; t0 += KT) {
      const uint nt = min(KT, p.block - t0), nt_padded = (nt + G - 1) / G * G;
      for (uint i = tid; i < nt_padded * D4; i += WG) {  // keys nt.. of the last group are zeros
        const uint j = i / D4, key = key0 + t0 + j, c4 = i % D4;
        Ks[i] = j < nt ? load4(kbase + key * p.ldkv, c4, 1u) : vec4(0.0);
        Vs[i] = j < nt ? load4(vbase + key * p.ldkv, c4, 2u) : vec4(0.0);
      }
      for (uint i = tid; i < nt_padded; i += WG)
        Pen[i] = (i < nt && has_mask && mask[z * p.L + key0 + t0 + i] == 0.0) ? p.penalty : 0.0;
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
            s[g] = s[g] * p.scale + Pen[j0 + g];
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
  }

  if (!live) return;
  if (slot != NO_SLOT) {  // one part of a split list: the merge pass normalises
    const uint part = (z * p.slots + slot) * p.block + r;
    [[unroll]] for (uint c = 0; c < D4; ++c) {
      [[unroll]] for (uint i = 0; i < 4; ++i)
        if (c * 4u + i < D) part_o[part * D + c * 4u + i] = o[c][i];
    }
    part_ml[part] = vec2(m, l);
    return;
  }
  const bool zero = (p.flags & ZERO_PADDED_QUERIES) != 0u && has_mask && mask[z * p.L + row] == 0.0;
  const float inv = 1.0 / l;
  const uint cbase = p.c_off + z * p.c_batch + row * p.ldc + h * D;
  [[unroll]] for (uint c = 0; c < D4; ++c) {
    [[unroll]] for (uint i = 0; i < 4; ++i)
      if (c * 4u + i < D) ctx[cbase + c * 4u + i] = zero ? 0.0 : o[c][i] * inv;
  }
  if ((p.flags & WRITE_LSE) != 0u) lse[(z * p.heads + h) * p.L + row] = m + log(l);
}
