#version 450
// dx = f'(x) * dy from the saved pre-activation x (engine/ops/activations_backward), grid-stride.
// kind: 0 gelu_new and 1 gelu_fast (the same function), 2 gelu (erf), 3 relu, 4 tanh.
// dx may be the same buffer as dy.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufDy { float dy[]; };
layout(std430, binding = 2) buffer BufDx { float dx[]; };

layout(push_constant) uniform Params {
  uint n, kind;
} p;

// As activation.comp: tanh without overflow, erf from the Numerical Recipes erfc fit.
float stable_tanh(float v) {
  const float a = abs(v);
  if (a < 0.0625) {
    const float v2 = v * v;
    return v * (1.0 + v2 * (-0.33333333 + v2 * (0.13333333 + v2 * -0.05396825)));
  }
  const float e = exp(-2.0 * a);
  return sign(v) * (1.0 - e) / (1.0 + e);
}

float erf_approx(float v) {
  const float z = abs(v);
  const float t = 1.0 / (1.0 + 0.5 * z);
  const float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                  t * (-0.82215223 + t * 0.17087277)))))))));
  return v >= 0.0 ? 1.0 - r : r - 1.0;
}

float derivative(float v, uint kind) {
  if (kind <= 1u) {
    const float k = 0.7978845608028654, c = 0.044715;
    const float t = stable_tanh(k * (v + c * v * v * v));
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * k * (1.0 + 3.0 * c * v * v);
  }
  if (kind == 2u) return 0.5 * (1.0 + erf_approx(v * 0.7071067811865476)) + v * 0.3989422804014327 * exp(-0.5 * v * v);
  if (kind == 3u) return v > 0.0 ? 1.0 : 0.0;
  const float t = stable_tanh(v);
  return 1.0 - t * t;
}

void main() {
  const uint stride = gl_NumWorkGroups.x * WG;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) dx[i] = derivative(x[i], p.kind) * dy[i];
}
