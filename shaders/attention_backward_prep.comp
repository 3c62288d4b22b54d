#version 450
// delta[z, h, row] = sum_c dO[row, h*D + c] * O[row, h*D + c]: the softmax-backward row term
// (FlashAttention's D). Padded query rows carry no gradient, so their delta is 0.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;

layout(std430, binding = 0) readonly buffer BufO { float o[]; };
layout(std430, binding = 1) readonly buffer BufDO { float dout[]; };
layout(std430, binding = 2) readonly buffer BufMask { float mask[]; };
layout(std430, binding = 3) buffer BufDelta { float delta[]; };  // [batch, heads, L]

#include "attention_backward_params.glsl"

void main() {
  const uint z = gl_WorkGroupID.z, h = gl_WorkGroupID.y;
  const uint row = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
  if (row >= p.L) return;
  float s = 0.0;
  const bool padded = (p.flags & HAS_MASK) != 0u && mask[z * p.L + row] == 0.0;
  if (!padded) {
    const uint ob = p.o_off + z * p.o_batch + row * p.ldo + h * D;
    const uint db = p.do_off + z * p.o_batch + row * p.ldo + h * D;
    for (uint c = 0; c < D; ++c) s += dout[db + c] * o[ob + c];
  }
  delta[(z * p.heads + h) * p.L + row] = s;
}
