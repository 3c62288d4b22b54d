#version 450
// y[r, c] = a[r, c] (+ bias[c]) (+ res[r, c]), grid-stride; y may be the same buffer as a.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufBias { float bias[]; };
layout(std430, binding = 2) readonly buffer BufRes { float res[]; };
layout(std430, binding = 3) buffer BufY { float y[]; };

layout(push_constant) uniform Params {
  uint rows, cols;
  uint flags;  // bit 0: bias, bit 1: residual
} p;

void main() {
  const uint total = p.rows * p.cols, stride = gl_NumWorkGroups.x * WG;
  const bool has_bias = (p.flags & 1u) != 0u, has_res = (p.flags & 2u) != 0u;
  for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
    float v = a[i];
    if (has_bias) v += bias[i % p.cols];
    if (has_res) v += res[i];
    y[i] = v;
  }
}
