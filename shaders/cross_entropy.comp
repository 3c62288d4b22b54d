#version 450
// Softmax cross-entropy, forward and backward, one workgroup per row (engine/train/cross_entropy):
//   loss[r] = logsumexp(z_r) - z_r[t_r], correct[r] = (argmax z_r == t_r)
//   dz_r = softmax(z_r) * g, dz_r[t_r] -= g   (g = grad_scale / counted rows, from the host)
// Rows whose target is the ignore index get loss 0 and a zero gradient. dz may be the logits'
// buffer (in place). WG a power of two.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(std430, binding = 0) readonly buffer BufZ { float z[]; };
layout(std430, binding = 1) readonly buffer BufT { int targets[]; };
layout(std430, binding = 2) buffer BufLoss { float loss[]; };  // [rows][loss, correct]
layout(std430, binding = 3) buffer BufDz { float dz[]; };

layout(push_constant) uniform Params {
  uint rows, classes, ld;
  int ignore_index;
  float g;
  uint flags;  // bit 0: write dz
} p;

shared float partial[WG];
shared uint partial_arg[WG];

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint t = gl_LocalInvocationID.x, base = row * p.ld;
  const int target = targets[row];
  const bool grad = (p.flags & 1u) != 0u;
  if (target == p.ignore_index) {
    if (t == 0u) {
      loss[2 * row] = 0.0;
      loss[2 * row + 1] = 0.0;
    }
    if (grad)
      for (uint i = t; i < p.classes; i += WG) dz[base + i] = 0.0;
    return;
  }
  // Max with the first index on ties (the CPU's strict > scan).
  float mx = -3.402823466e+38;
  uint arg = 0xffffffffu;
  for (uint i = t; i < p.classes; i += WG) {
    const float v = z[base + i];
    if (arg == 0xffffffffu || v > mx) {
      mx = v;
      arg = i;
    }
  }
  partial[t] = mx;
  partial_arg[t] = arg;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) {
      const float o = partial[t + s];
      const uint oa = partial_arg[t + s];
      if (oa != 0xffffffffu &&
          (partial_arg[t] == 0xffffffffu || o > partial[t] || (o == partial[t] && oa < partial_arg[t]))) {
        partial[t] = o;
        partial_arg[t] = oa;
      }
    }
    barrier();
  }
  mx = partial[0];
  arg = partial_arg[0];
  barrier();
  float sum = 0.0;
  for (uint i = t; i < p.classes; i += WG) sum += exp(z[base + i] - mx);
  partial[t] = sum;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  sum = partial[0];
  const float zt = z[base + uint(target)];
  barrier();  // every thread has read z[target] before dz (maybe the same buffer) is written
  if (t == 0u) {
    loss[2 * row] = mx + log(sum) - zt;
    loss[2 * row + 1] = arg == uint(target) ? 1.0 : 0.0;
  }
  if (!grad) return;
  const float inv = 1.0 / sum;
  for (uint i = t; i < p.classes; i += WG) {
    const float v = exp(z[base + i] - mx) * inv * p.g;
    dz[base + i] = i == uint(target) ? v - p.g : v;
  }
}
