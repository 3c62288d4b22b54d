#version 450
// LayerNorm parameter gradients: dgamma[c] += sum_rows dy * xhat, dbeta[c] += sum_rows dy, one
// thread per column walking the rows in order (deterministic), with the statistics stored by
// layer_norm_backward (STATS_ONLY).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer BufDy { float dy[]; };
layout(std430, binding = 1) readonly buffer BufX { float x[]; };
layout(std430, binding = 2) readonly buffer BufStats { float stats[]; };
layout(std430, binding = 3) buffer BufDgamma { float dgamma[]; };
layout(std430, binding = 4) buffer BufDbeta { float dbeta[]; };

layout(push_constant) uniform Params {
  uint rows, cols;
  float eps;
  uint flags;  // bit 0: dgamma bound, bit 1: dbeta bound
} p;

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= p.cols) return;
  float g = 0.0, b = 0.0;
  for (uint r = 0; r < p.rows; ++r) {
    const float d = dy[r * p.cols + c];
    g += d * ((x[r * p.cols + c] - stats[2 * r]) * stats[2 * r + 1]);
    b += d;
  }
  if ((p.flags & 1u) != 0u) dgamma[c] += g;
  if ((p.flags & 2u) != 0u) dbeta[c] += b;
}
