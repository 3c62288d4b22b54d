// Push constants of the block-sparse attention backward kernels. q/dq share ldq and q_batch,
// k/v/dk/dv share ldkv and kv_batch, o/do share ldo and o_batch; head h is columns [h*D, (h+1)*D).
layout(push_constant) uniform Params {
  uint L, heads, block, nb;
  uint ldq, ldkv, ldo;
  uint q_off, k_off, v_off, o_off, do_off, dq_off, dk_off, dv_off;
  uint q_batch, kv_batch, o_batch;
  uint subs, b_begin;
  float scale;
  float penalty;
  uint flags;  // bit 0: mask bound (padded keys get the penalty, padded queries carry no gradient)
} p;

const uint HAS_MASK = 1u;
