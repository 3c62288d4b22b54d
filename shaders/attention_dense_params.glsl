// Push constants shared by the dense attention kernels (forward and probabilities).
// Queries [Lq, ldq], keys/values [Lk, ldkv], head h in columns [h*D, (h+1)*D); batch row z
// starts z * *_batch elements after *_off. Penalties follow the CPU op: masked keys, keys after
// causal_offset + query, and (simulated_sparse) a per (head, query block, key block) additive bias.
layout(push_constant) uniform Params {
  uint Lq, Lk, heads;
  uint ldq, ldkv, ldc;
  uint q_off, k_off, v_off, c_off;
  uint q_batch, kv_batch, c_batch;
  uint q_begin;       // first query row of this dispatch
  uint h_begin;       // first head of this dispatch (gl_WorkGroupID.y counts from here)
  int causal_offset;  // query i sees keys <= causal_offset + i
  uint block, nbq, nbk;  // block grid of the bias (simulated_sparse)
  float scale;
  float penalty;
  uint flags;  // bit 0 key mask, 1 write lse, 2 zero padded queries, 3 causal, 4 block bias
} p;

const float FLT_LOWEST = -3.402823466e+38;
const uint KEY_MASK = 1u, WRITE_LSE = 2u, ZERO_PADDED_QUERIES = 4u, CAUSAL = 8u, BLOCK_BIAS = 16u;
