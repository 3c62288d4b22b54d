#pragma once
// The compute kernels as typed operations on device memory, recorded into a Stream. Matrices are
// row-major with BLAS-style leading dimensions and element offsets inside the bound views, so a
// head's columns or one batch row are addressed without copies. Each op checks its shapes, picks
// workgroup sizes (specialization constants) for the device, and splits long work into several
// dispatches so a submission stays short. Mirrors engine/ops and engine/attention on the CPU.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/models/config.h"

namespace bb::vk {

// Float / int buffers: allocation + transfer helpers.
Buffer make_buffer(Device& device, int64_t elements, size_t element_bytes = 4);
Buffer upload_floats(Stream& s, const float* data, int64_t n);
Buffer upload_halves(Stream& s, const float* data, int64_t n);  // fp32 -> fp16 storage
Buffer upload_ints(Stream& s, const int32_t* data, int64_t n);
std::vector<float> download_floats(Stream& s, const Buffer& b, int64_t n);

namespace ops {

// Which GEMM kernel runs: automatic = gemm_small_m for M <= kSmallMRows (decoder steps: one row
// per beam, the weights read once), the tiled kernel otherwise. tiled / small_m force one (checks).
enum class GemmPath { automatic, tiled, small_m };
constexpr uint32_t kSmallMRows = 16;

struct Gemm {
  View a, b, c, bias;  // bias optional: C += bias[col]
  bool trans_a = false, trans_b = false;
  bool b_fp16 = false;  // B holds float16 (needs storageBuffer16BitAccess)
  uint32_t M = 0, N = 0, K = 0;
  uint32_t lda = 0, ldb = 0, ldc = 0;
  uint32_t a_off = 0, b_off = 0, c_off = 0;
  uint32_t batch = 1, a_batch = 0, b_batch = 0, c_batch = 0;
  float alpha = 1.0f, beta = 0.0f;
  GemmPath path = GemmPath::automatic;
};
// C = alpha op(A) op(B) (+ beta C) (+ bias).
void gemm(Stream& s, const Gemm& g);
// The kernel (KernelLayout name) gemm() runs for g on d: gemm, gemm_f16, gemm_small_m[_f16][_vec4].
std::string gemm_kernel(const Device& d, const Gemm& g);
// y[M,N] = x[M,K] W[N,K]^T + bias[N] (nn.Linear), like ops::linear.
void linear(Stream& s, View x, uint32_t M, uint32_t K, View w, uint32_t N, View bias, View y, bool w_fp16 = false);

void layer_norm(Stream& s, View x, View gamma, View beta, View y, uint32_t rows, uint32_t cols, float eps,
                uint32_t x_off = 0, uint32_t y_off = 0);
void activation(Stream& s, Activation act, View x, uint32_t n, uint32_t off = 0);
void softmax_rows(Stream& s, View x, uint32_t rows, uint32_t n, uint32_t ld, uint32_t off = 0);
// out[r] (+)= table[ids[ids_off + r] - row_begin] for ids in [row_begin, row_end).
void embedding(Stream& s, View ids, uint32_t ids_off, View table, int32_t row_begin, int32_t row_end, View out,
               uint32_t rows, uint32_t cols, bool accumulate);
// y = a (+ bias[col]) (+ res); bias / res optional (empty views).
void bias_residual(Stream& s, View a, View bias, View res, View y, uint32_t rows, uint32_t cols);

// A layer's block pattern on the device: key-block lists (CSR over head*nb + query block, in the
// plan's order, duplicates kept), their transpose (key block -> query blocks, for the backward
// pass), the offset of each (head, query block) probability tile of a capture, and the forward's
// work items: each (head, query block) walks its list in one workgroup unless the list is long
// (the global query blocks list every key block), then it is split into parts of about
// split_blocks key blocks that run in parallel and are merged (split-K, log-sum-exp rescaling).
struct SparseLists {
  Buffer storage;  // every array below, uploaded at once; the views are its sections
  View offsets, blocks, t_offsets, t_blocks, tile_offsets;
  View items;   // uvec4 (head*nb + query block, first entry, end entry, scratch slot | ~0u)
  View merges;  // uvec4 (head*nb + query block, first slot, parts, 0) of each split list
  std::vector<uint32_t> host_offsets, host_blocks;
  std::vector<uint64_t> host_tile_offsets;  // [heads*nb + 1], floats
  std::vector<uint32_t> host_items;         // 4 per item, as uploaded
  uint32_t item_count = 0, merge_count = 0, slots = 0;
  uint32_t split_blocks = 0;  // the part size used (key blocks)
  uint32_t heads = 0, nb = 0, block = 0;
};
// split_blocks: key blocks per part of a split list; a list is split when it is longer than twice
// that. 0 = the device's option (BIGBIRD_VK_SPLIT_BLOCKS), whose 0 is automatic: the median list
// length, so a part costs what an ordinary query block costs; UINT32_MAX = never split.
SparseLists upload_pattern(Stream& s, const attn::BlockPattern& p, bool with_transpose, uint32_t split_blocks = 0);

struct SparseAttention {
  View q, k, v, ctx;
  View mask;  // [batch, L] 1 real / 0 padding (optional)
  View lse;   // [batch, heads, L] (optional; needed for probabilities and backward)
  const SparseLists* lists = nullptr;
  uint32_t heads = 0, head_dim = 0, L = 0, batch = 1;
  uint32_t ldq = 0, ldkv = 0, ldc = 0;
  uint32_t q_off = 0, k_off = 0, v_off = 0, c_off = 0;
  uint32_t q_batch = 0, kv_batch = 0, c_batch = 0;
  float scale = 0.0f;         // 0 = 1/sqrt(head_dim)
  float penalty = -10000.0f;  // on padded keys, as the reference
  bool zero_padded_queries = true;
};
void block_sparse_attention(Stream& s, const SparseAttention& a);
// Probabilities of head `head`, laid out as the CPU AttentionMap's tiles of that head, for every
// batch row: out = [batch][T] with T = host_tile_offsets[(head+1)*nb] - host_tile_offsets[head*nb].
// Needs a.lse from the forward pass.
void block_sparse_attention_probs(Stream& s, const SparseAttention& a, uint32_t head, View out);

struct SparseAttentionGrad {
  View o, dout;     // forward output and its gradient, [L, ldo] per batch row
  View dq, dk, dv;  // written (not accumulated); dq like q, dk/dv like k/v
  View delta;       // scratch [batch, heads, L]
  uint32_t ldo = 0, o_off = 0, do_off = 0, o_batch = 0;
  uint32_t dq_off = 0, dk_off = 0, dv_off = 0;
};
// Needs a.lse from the forward pass and lists uploaded with_transpose.
void block_sparse_attention_backward(Stream& s, const SparseAttention& a, const SparseAttentionGrad& g);

struct DenseAttention {
  View q, k, v, ctx;
  View key_mask;    // [batch, Lk] (optional)
  View query_mask;  // [batch, Lq] (needed with zero_padded_queries)
  View block_bias;  // [heads, nbq, nbk] additive (simulated_sparse, optional)
  View lse;         // [batch, heads, Lq] (optional)
  uint32_t Lq = 0, Lk = 0, heads = 0, head_dim = 0, batch = 1;
  uint32_t ldq = 0, ldkv = 0, ldc = 0;
  uint32_t q_off = 0, k_off = 0, v_off = 0, c_off = 0;
  uint32_t q_batch = 0, kv_batch = 0, c_batch = 0;
  float scale = 0.0f;
  float penalty = -10000.0f;
  bool causal = false;
  int32_t causal_offset = 0;
  uint32_t block = 1, nbq = 0, nbk = 0;  // grid of block_bias
  bool zero_padded_queries = false;
};
void dense_attention(Stream& s, const DenseAttention& a);
// Probabilities of head `head` for every batch row: out = [batch][Lq, Lk]. Needs a.lse from the forward.
void dense_attention_probs(Stream& s, const DenseAttention& a, uint32_t head, View out);

// Largest head_dim the attention kernels take on this device (register arrays + shared tiles).
uint32_t max_head_dim(const Device& d);

}  // namespace ops
}  // namespace bb::vk
