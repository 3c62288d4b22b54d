#version 450
// Backward of layer_norm for one row per workgroup (WG a power of two), from the saved input x:
//   xhat = (x - mean) * rstd, g = dy * gamma
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))   (overwritten, or added to with ACCUMULATE)
// The row statistics are recomputed with the forward's two passes and stored in stats[2*row] for
// layer_norm_backward_params. With STATS_ONLY nothing else is written (dx may alias dy: the
// parameter pass must read dy before dx overwrites it).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(std430, binding = 0) readonly buffer BufDy { float dy[]; };
layout(std430, binding = 1) readonly buffer BufX { float x[]; };
layout(std430, binding = 2) readonly buffer BufGamma { float gamma[]; };
layout(std430, binding = 3) buffer BufStats { float stats[]; };  // [rows][mean, rstd]
layout(std430, binding = 4) buffer BufDx { float dx[]; };

layout(push_constant) uniform Params {
  uint rows, cols;
  float eps;
  uint flags;  // bit 0: accumulate into dx, bit 1: statistics only
} p;

const uint ACCUMULATE = 1u, STATS_ONLY = 2u;

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
  const uint t = gl_LocalInvocationID.x, base = row * p.cols;

  float s = 0.0;
  for (uint i = t; i < p.cols; i += WG) s += x[base + i];
  const float mean = workgroup_sum(s) / float(p.cols);
  float sq = 0.0;
  for (uint i = t; i < p.cols; i += WG) {
    const float d = x[base + i] - mean;
    sq += d * d;
  }
  const float rstd = inversesqrt(workgroup_sum(sq) / float(p.cols) + p.eps);
  if ((p.flags & STATS_ONLY) != 0u) {
    if (t == 0u) {
      stats[2 * row] = mean;
      stats[2 * row + 1] = rstd;
    }
    return;
  }

  float sg = 0.0, sgx = 0.0;
  for (uint i = t; i < p.cols; i += WG) {
    const float g = dy[base + i] * gamma[i];
    sg += g;
    sgx += g * (x[base + i] - mean) * rstd;
  }
  const float mg = workgroup_sum(sg) / float(p.cols), mgx = workgroup_sum(sgx) / float(p.cols);
  const bool acc = (p.flags & ACCUMULATE) != 0u;
  for (uint i = t; i < p.cols; i += WG) {
    const float xhat = (x[base + i] - mean) * rstd;
    const float v = rstd * (dy[base + i] * gamma[i] - mg - xhat * mgx);
    dx[base + i] = acc ? dx[base + i] + v : v;
  }
}
