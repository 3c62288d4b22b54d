#version 450
// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row (biased variance, two passes like
// the CPU op). One workgroup per row; WG must be a power of two. x and y may be the same buffer.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufGamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer BufBeta { float beta[]; };
layout(std430, binding = 3) buffer BufY { float y[]; };

layout(push_constant) uniform Params {
  uint rows, cols;
  uint x_off, y_off;
  float eps;
} p;

shared float partial[WG];

float workgroup_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  partial[t] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  const float r = partial[0];
  barrier();
  return r;
}

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;  // uniform across the workgroup
  const uint t = gl_LocalInvocationID.x;
  const uint xb = p.x_off + row * p.cols, yb = p.y_off + row * p.cols;

  float s = 0.0;
  for (uint i = t; i < p.cols; i += WG) s += x[xb + i];
  const float mean = workgroup_sum(s) / float(p.cols);
  float sq = 0.0;
  for (uint i = t; i < p.cols; i += WG) {
    const float d = x[xb + i] - mean;
    sq += d * d;
  }
  const float inv = inversesqrt(workgroup_sum(sq) / float(p.cols) + p.eps);
  for (uint i = t; i < p.cols; i += WG) y[yb + i] = (x[xb + i] - mean) * inv * gamma[i] + beta[i];
}
