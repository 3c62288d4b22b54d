#version 450
// C = alpha * op(A) * op(B) (+ beta * C) (+ bias[col]) for few rows (M <= MR, decoder steps: one
// token per beam row), batched over gl_WorkGroupID.z. The tiled gemm.comp wastes most of a 64-row
// tile there; here a workgroup owns NC = WG / KT columns for all M rows, so every weight is read
// once. KT threads share a column's K range, A is staged KC columns at a time in shared memory, and
// the KT partial sums are added from shared memory after the loop (one barrier; no subgroup ops,
// so any Vulkan 1.1 device runs it). -DB_FP16 stores B as float16 (fp32 maths); -DB_VEC4 reads B
// as vec4 along K (TRANS_B with K, ldb and the offsets multiples of 4: the host checks).
#extension GL_EXT_control_flow_attributes : enable
#ifdef B_FP16
#extension GL_EXT_shader_16bit_storage : require
#endif
#if defined(B_VEC4) && defined(B_FP16)
#define B_TYPE f16vec4
#elif defined(B_VEC4)
#define B_TYPE vec4
#elif defined(B_FP16)
#define B_TYPE float16_t
#else
#define B_TYPE float
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint KT = 32;  // threads per column (power of two dividing WG; 1 for small K)
layout(constant_id = 2) const uint MR = 16;  // rows held in registers (>= M)
layout(constant_id = 3) const uint KC = 256; // K chunk staged in shared memory (multiple of 4, >= WG)
layout(constant_id = 4) const bool TRANS_A = false;
layout(constant_id = 5) const bool TRANS_B = true;

const uint NC = WG / KT;

layout(std430, binding = 0) readonly buffer BufA { float A[]; };
layout(std430, binding = 1) readonly buffer BufB { B_TYPE B[]; };
layout(std430, binding = 2) buffer BufC { float C[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

layout(push_constant) uniform Params {
  uint M, N, K;
  uint lda, ldb, ldc;
  uint a_off, b_off, c_off;
  uint a_batch, b_batch, c_batch;  // element strides between batch entries
  float alpha, beta;
  uint flags;                      // bit 0: add bias[col]
  uint col_begin, col_end;         // this dispatch's columns
} p;

#ifdef B_VEC4
shared vec4 S[MR * KC / 4];  // A chunk, S[i * KC/4 + k/4]; after the K loop: partial sums
#define STORE_A(i, kk, v) S[(i) * (KC / 4) + (kk) / 4][(kk) % 4] = (v)
#define PARTIAL(idx) S[(idx) / 4][(idx) % 4]
#else
shared float S[MR * KC];
#define STORE_A(i, kk, v) S[(i) * KC + (kk)] = (v)
#define PARTIAL(idx) S[idx]
#endif

void main() {
  const uint tid = gl_LocalInvocationID.x;
  // TRANS_B: a column's weights are contiguous along K, so neighbouring threads take neighbouring k;
  // otherwise neighbouring threads take neighbouring columns.
  const uint col = TRANS_B ? tid / KT : tid % NC;
  const uint part = TRANS_B ? tid % KT : tid / NC;
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint j0 = p.col_begin + group * NC;
  const uint j = j0 + col;
  const bool live = j < p.col_end;
  const uint abase = p.a_off + gl_WorkGroupID.z * p.a_batch;
  const uint bbase = p.b_off + gl_WorkGroupID.z * p.b_batch;
  const uint cbase = p.c_off + gl_WorkGroupID.z * p.c_batch;

  float acc[MR];
  [[unroll]] for (uint m = 0; m < MR; ++m) acc[m] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += KC) {
    const uint kc = min(KC, p.K - k0), kc4 = (kc + 3) / 4 * 4;  // only the chunk's columns are staged
    barrier();  // the previous chunk has been read
    for (uint e = tid; e < MR * kc4; e += WG) {
      const uint i = TRANS_A ? e % MR : e / kc4;
      const uint kk = TRANS_A ? e / MR : e % kc4;
      float v = 0.0;
      if (i < p.M && kk < kc) v = TRANS_A ? A[abase + (k0 + kk) * p.lda + i] : A[abase + i * p.lda + k0 + kk];
      STORE_A(i, kk, v);
    }
    barrier();
    if (live) {
#ifdef B_VEC4
      const uint brow = (bbase + j * p.ldb + k0) / 4;
      for (uint k4 = part; k4 < kc / 4; k4 += KT) {
        const vec4 b = vec4(B[brow + k4]);
        [[unroll]] for (uint m = 0; m < MR; ++m) acc[m] += dot(S[m * (KC / 4) + k4], b);
      }
#else
      for (uint kk = part; kk < kc; kk += KT) {
        const uint k = k0 + kk;
        const float b = TRANS_B ? float(B[bbase + j * p.ldb + k]) : float(B[bbase + k * p.ldb + j]);
        [[unroll]] for (uint m = 0; m < MR; ++m) acc[m] += S[m * KC + kk] * b;
      }
#endif
    }
  }

  const bool has_bias = (p.flags & 1u) != 0u;
  if (KT == 1) {  // one thread per column (small K): no partial sums to add
    if (!live) return;
    [[unroll]] for (uint m = 0; m < MR; ++m) {
      if (m >= p.M) break;
      const uint at = cbase + m * p.ldc + j;
      float v = p.alpha * acc[m];
      if (p.beta != 0.0) v += p.beta * C[at];
      if (has_bias) v += bias[j];
      C[at] = v;
    }
    return;
  }

  barrier();  // the last chunk has been read: S now holds partial sums [MR][WG]
  [[unroll]] for (uint m = 0; m < MR; ++m) PARTIAL(m * WG + tid) = acc[m];
  barrier();

  for (uint o = tid; o < MR * NC; o += WG) {
    const uint m = o / NC, c = o % NC, gj = j0 + c;
    if (m >= p.M || gj >= p.col_end) continue;
    float sum = 0.0;
    for (uint t = 0; t < KT; ++t) sum += PARTIAL(m * WG + (TRANS_B ? c * KT + t : t * NC + c));
    const uint at = cbase + m * p.ldc + gj;
    float v = p.alpha * sum;
    if (p.beta != 0.0) v += p.beta * C[at];
    if (has_bias) v += bias[gj];
    C[at] = v;
  }
}
