#version 450
// C = alpha * op(A) * op(B) (+ beta * C) (+ bias[col]), row-major, batched over gl_WorkGroupID.z.
// One workgroup computes a BM x BN tile (BM = TY*TM, BN = TX*TN) with K staged through shared
// memory BK at a time; thread (tx, ty) owns rows ty + m*TY and columns tx + n*TX, so neighbouring
// threads write neighbouring columns. -DB_FP16 stores B (the weights) as float16 (fp32 maths).
#extension GL_EXT_control_flow_attributes : enable
#ifdef B_FP16
#extension GL_EXT_shader_16bit_storage : require
#define B_TYPE float16_t
#else
#define B_TYPE float
#endif

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint TX = 16;
layout(constant_id = 1) const uint TY = 16;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;
layout(constant_id = 5) const bool TRANS_A = false;
layout(constant_id = 6) const bool TRANS_B = false;

const uint BM = TY * TM;
const uint BN = TX * TN;

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
} p;

shared float As[BK * BM];  // As[k * BM + i]
shared float Bs[BK * BN];  // Bs[k * BN + j]

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint tid = ty * TX + tx, nthreads = TX * TY;
  const uint i0 = gl_WorkGroupID.y * BM, j0 = gl_WorkGroupID.x * BN;
  const uint abase = p.a_off + gl_WorkGroupID.z * p.a_batch;
  const uint bbase = p.b_off + gl_WorkGroupID.z * p.b_batch;
  const uint cbase = p.c_off + gl_WorkGroupID.z * p.c_batch;

  float acc[TM][TN];
  [[unroll]] for (uint m = 0; m < TM; ++m)
    [[unroll]] for (uint n = 0; n < TN; ++n) acc[m][n] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // Stage the A and B panels; the index order keeps global reads contiguous across threads.
    for (uint e = tid; e < BK * BM; e += nthreads) {
      const uint kk = TRANS_A ? e / BM : e % BK;
      const uint ii = TRANS_A ? e % BM : e / BK;
      const uint gi = i0 + ii, gk = k0 + kk;
      float v = 0.0;
      if (gi < p.M && gk < p.K) v = TRANS_A ? A[abase + gk * p.lda + gi] : A[abase + gi * p.lda + gk];
      As[kk * BM + ii] = v;
    }
    for (uint e = tid; e < BK * BN; e += nthreads) {
      const uint kk = TRANS_B ? e % BK : e / BN;
      const uint jj = TRANS_B ? e / BK : e % BN;
      const uint gj = j0 + jj, gk = k0 + kk;
      float v = 0.0;
      if (gj < p.N && gk < p.K) v = TRANS_B ? float(B[bbase + gj * p.ldb + gk]) : float(B[bbase + gk * p.ldb + gj]);
      Bs[kk * BN + jj] = v;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
      [[unroll]] for (uint m = 0; m < TM; ++m) a[m] = As[kk * BM + ty + m * TY];
      [[unroll]] for (uint n = 0; n < TN; ++n) b[n] = Bs[kk * BN + tx + n * TX];
      [[unroll]] for (uint m = 0; m < TM; ++m)
        [[unroll]] for (uint n = 0; n < TN; ++n) acc[m][n] += a[m] * b[n];
    }
    barrier();
  }

  const bool has_bias = (p.flags & 1u) != 0u;
  [[unroll]] for (uint m = 0; m < TM; ++m) {
    const uint gi = i0 + ty + m * TY;
    if (gi >= p.M) continue;
    [[unroll]] for (uint n = 0; n < TN; ++n) {
      const uint gj = j0 + tx + n * TX;
      if (gj >= p.N) continue;
      const uint at = cbase + gi * p.ldc + gj;
      float v = p.alpha * acc[m][n];
      if (p.beta != 0.0) v += p.beta * C[at];
      if (has_bias) v += bias[gj];
      C[at] = v;
    }
  }
}
