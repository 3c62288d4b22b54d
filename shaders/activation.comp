#version 450
// Element-wise activations in place, grid-stride over n values.
// kind: 0 gelu_new (tanh form), 1 gelu_fast (HF's op order), 2 gelu (erf), 3 relu, 4 tanh.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) buffer BufX { float x[]; };

layout(push_constant) uniform Params {
  uint n, off, kind;
} p;

// tanh without overflow: a Taylor series near 0 (where 1 - e loses digits), (1-e)/(1+e) elsewhere.
float stable_tanh(float v) {
  const float a = abs(v);
  if (a < 0.0625) {
    const float v2 = v * v;
    return v * (1.0 + v2 * (-0.33333333 + v2 * (0.13333333 + v2 * -0.05396825)));
  }
  const float e = exp(-2.0 * a);
  return sign(v) * (1.0 - e) / (1.0 + e);
}

// erf via the Numerical Recipes erfc Chebyshev fit (fractional error < 1.2e-7).
float erf_approx(float v) {
  const float z = abs(v);
  const float t = 1.0 / (1.0 + 0.5 * z);
  const float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                  t * (-0.82215223 + t * 0.17087277)))))))));
  return v >= 0.0 ? 1.0 - r : r - 1.0;
}

float activate(float v, uint kind) {
  if (kind == 0u) return 0.5 * v * (1.0 + stable_tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  if (kind == 1u) return 0.5 * v * (1.0 + stable_tanh(v * 0.7978845608 * (1.0 + 0.044715 * v * v)));
  if (kind == 2u) return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476));
  if (kind == 3u) return max(v, 0.0);
  return stable_tanh(v);
}

void main() {
  const uint stride = gl_NumWorkGroups.x * WG;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) x[p.off + i] = activate(x[p.off + i], p.kind);
}
