// Push constants shared by the block-sparse attention kernels (forward, merge, probabilities,
// backward). Q/K/V/ctx rows are [L, ld] with head h in columns [h*D, (h+1)*D); batch row z starts
// z * *_batch elements after *_off. Key-block lists come from the engine's plan (CSR over
// head * nb + query block); the backward key pass reads the transposed lists (key block -> query
// blocks), duplicates kept in both.
layout(push_constant) uniform Params {
  uint L, heads, block, nb;
  uint ldq, ldkv, ldc;
  uint q_off, k_off, v_off, c_off;
  uint q_batch, kv_batch, c_batch;
  uint subs;      // workgroups per block: ceil(block / WG)
  uint b_begin;   // first block (forward / merge: first work item) of this dispatch
  uint h_begin;   // first head of this dispatch (gl_WorkGroupID.y counts from here)
  float scale;
  float penalty;  // added to the scores of padded keys (-10000, as the reference)
  uint flags;     // bit 0: mask bound; bit 1: write lse; bit 2: zero the rows of padded queries
  uint slots;     // forward / merge: scratch slots of split key lists per batch row
} p;

const float FLT_LOWEST = -3.402823466e+38;
const uint HAS_MASK = 1u, WRITE_LSE = 2u, ZERO_PADDED_QUERIES = 4u;
const uint NO_SLOT = 0xffffffffu;
