#version 450
// out[r, :] (+)= table[ids[r] - row_begin, :] for ids in [row_begin, row_end). A table larger than
// one storage-buffer binding is uploaded in row chunks and gathered chunk by chunk (accumulate = 1);
// the first pass (accumulate = 0) writes every row, zero where the id is not in its chunk.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer BufIds { int ids[]; };
layout(std430, binding = 1) readonly buffer BufTable { float table[]; };
layout(std430, binding = 2) buffer BufOut { float outv[]; };

layout(push_constant) uniform Params {
  uint rows, cols;
  uint ids_off;
  int row_begin, row_end;
  uint accumulate;
} p;

void main() {
  const uint total = p.rows * p.cols, stride = gl_NumWorkGroups.x * WG;
  for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
    const uint r = i / p.cols, c = i % p.cols;
    const int id = ids[p.ids_off + r];
    const bool mine = id >= p.row_begin && id < p.row_end;
    const float v = mine ? table[uint(id - p.row_begin) * p.cols + c] : 0.0;
    if (p.accumulate != 0u) {
      if (mine) outv[i] += v;
    } else {
      outv[i] = v;
    }
  }
}
