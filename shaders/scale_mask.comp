#version 450
// y[i] = x[i] * mask[i] (dropout with a mask of 0 and 1/(1-p) values drawn on the host), or with
// FILL y[i] = value (x and mask unused), grid-stride. y may be the same buffer as x.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufMask { float mask[]; };
layout(std430, binding = 2) buffer BufY { float y[]; };

layout(push_constant) uniform Params {
  uint n, flags;  // bit 0: fill
  float value;
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * WG;
  const bool fill = (p.flags & 1u) != 0u;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) y[i] = fill ? p.value : x[i] * mask[i];
}
