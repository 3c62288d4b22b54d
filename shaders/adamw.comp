#version 450
// One optimizer update of n parameters (engine/train/optimizer.cpp, same fp32 arithmetic):
// the gradient is first scaled by `clip` (clip_grad_norm's coefficient, 1 when not clipping), then
//   AdamW (kind 0): w *= decay; m = b1 m + c1 g; v = b2 v + c2 g^2; w -= step_size m / (sqrt(v)/bc2_sqrt + eps)
//   AdamWeightDecay (kind 1): m, v as above; w -= lr (m / (sqrt(v) + eps) + wd w)
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) buffer BufW { float w[]; };
layout(std430, binding = 1) readonly buffer BufG { float grad[]; };
layout(std430, binding = 2) buffer BufM { float m[]; };
layout(std430, binding = 3) buffer BufV { float v[]; };

layout(push_constant) uniform Params {
  uint n, kind;
  float clip, b1, b2, c1, c2, lr, eps, wd, decay, step_size, bc2_sqrt;
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * WG;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    const float g = grad[i] * p.clip;
    if (p.kind == 0u) {
      float wi = w[i] * p.decay;
      const float mi = p.b1 * m[i] + p.c1 * g;
      const float vi = p.b2 * v[i] + p.c2 * g * g;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi - p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
    } else {
      const float mi = p.b1 * m[i] + p.c1 * g;
      const float vi = p.b2 * v[i] + p.c2 * g * g;
      m[i] = mi;
      v[i] = vi;
      const float u = mi / (sqrt(vi) + p.eps) + p.wd * w[i];
      w[i] = w[i] - p.lr * u;
    }
  }
}
