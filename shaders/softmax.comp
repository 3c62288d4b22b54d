#version 450
// In-place softmax over each row of n values (row stride ld). One workgroup per row; WG is a
// power of two.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(std430, binding = 0) buffer BufX { float x[]; };

layout(push_constant) uniform Params {
  uint rows, n, ld, off;
} p;

shared float partial[WG];

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x, base = p.off + row * p.ld;

  float mx = -3.402823466e+38;
  for (uint i = t; i < p.n; i += WG) mx = max(mx, x[base + i]);
  partial[t] = mx;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] = max(partial[t], partial[t + s]);
    barrier();
  }
  mx = partial[0];
  barrier();

  float sum = 0.0;
  for (uint i = t; i < p.n; i += WG) {
    const float e = exp(x[base + i] - mx);
    x[base + i] = e;
    sum += e;
  }
  partial[t] = sum;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  const float inv = 1.0 / partial[0];
  for (uint i = t; i < p.n; i += WG) x[base + i] *= inv;
}
