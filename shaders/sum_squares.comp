#version 450
// Partial sums of squares for a gradient norm: workgroup g writes sum_{i in its grid-stride
// share} x[i]^2 to partial[out_off + g]; the host adds the partials in double.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) buffer BufPartial { float partial_out[]; };

layout(push_constant) uniform Params {
  uint n, out_off;
} p;

shared float partial[WG];

void main() {
  const uint t = gl_LocalInvocationID.x, stride = gl_NumWorkGroups.x * WG;
  float s = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) s += x[i] * x[i];
  partial[t] = s;
  barrier();
  for (uint k = WG / 2; k > 0; k >>= 1) {
    if (t < k) partial[t] += partial[t + k];
    barrier();
  }
  if (t == 0u) partial_out[p.out_off + gl_WorkGroupID.x] = partial[0];
}
