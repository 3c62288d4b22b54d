#version 450
// Backward of softmax_rows from the saved probabilities: dS = P * (dP - sum_j dP_j P_j) per row
// (row stride ld, element offset off in every buffer). One workgroup per row; WG a power of two.
// dS may be the same buffer as dP.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(std430, binding = 0) readonly buffer BufP { float prob[]; };
layout(std430, binding = 1) readonly buffer BufDp { float dp[]; };
layout(std430, binding = 2) buffer BufDs { float ds[]; };

layout(push_constant) uniform Params {
  uint rows, n, ld, off;
} p;

shared float partial[WG];

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x, base = p.off + row * p.ld;
  float dot = 0.0;
  for (uint i = t; i < p.n; i += WG) dot += prob[base + i] * dp[base + i];
  partial[t] = dot;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  dot = partial[0];
  for (uint i = t; i < p.n; i += WG) ds[base + i] = prob[base + i] * (dp[base + i] - dot);
}
