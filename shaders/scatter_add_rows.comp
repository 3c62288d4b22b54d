#version 450
// Backward of a row gather (embedding lookup, gathered head rows): for each destination u,
//   out[dst[u], :] += sum over j in [offsets[u], offsets[u+1]) of src[rows[j], :]
// with the source rows in increasing order (the host builds this CSR from the ids). One workgroup
// per destination row, threads over columns: no two workgroups write the same row, no atomics.
// index[] holds offsets (U + 1), then rows, then dst (sections at rows_base / dst_base).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, binding = 0) readonly buffer BufSrc { float src[]; };
layout(std430, binding = 1) readonly buffer BufIndex { uint index[]; };
layout(std430, binding = 2) buffer BufOut { float outv[]; };

layout(push_constant) uniform Params {
  uint count, cols, rows_base, dst_base, u_begin;
} p;

void main() {
  const uint u = p.u_begin + gl_WorkGroupID.x;
  if (u >= p.count) return;
  const uint j0 = index[u], j1 = index[u + 1], dst = index[p.dst_base + u];
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += WG) {
    float acc = 0.0;
    for (uint j = j0; j < j1; ++j) acc += src[index[p.rows_base + j] * p.cols + c];
    outv[dst * p.cols + c] += acc;
  }
}
