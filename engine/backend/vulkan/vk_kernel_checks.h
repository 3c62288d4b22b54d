#pragma once
// Each kernel against the engine's CPU op on deterministic random data (ggml test-backend-ops
// style): the start-up self-test runs them on small shapes, the tests on many shapes including
// odd sizes. error = max|gpu - cpu| / max(1, max|cpu|), compared with a per-op tolerance.
// `corrupt` perturbs the GPU result before the comparison (fault injection: the check must fail).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/models/config.h"

namespace bb::vk::checks {

struct Check {
  std::string kernel;  // the kernel (KernelLayout name) under test
  std::string shape;
  double error = 0.0, tolerance = 0.0;
  bool passed = false;
  double seconds = 0.0;      // wall time of the check (GPU run, CPU reference, first-use pipeline creation)
  std::string line() const;  // "gemm 67x45x131 NT bias: error 3.1e-07 (tolerance 1e-05) ok"
};

Check gemm(Stream& s, uint32_t M, uint32_t N, uint32_t K, bool trans_a, bool trans_b, bool bias, bool fp16,
           uint32_t batch = 1, bool corrupt = false);
// The same with every knob: C written at row stride N + ldc_pad from element c_off, accumulated
// with beta, on a forced kernel path. The check names the kernel that ran (ops::gemm_kernel).
struct GemmShape {
  uint32_t M = 1, N = 1, K = 1;
  bool trans_a = false, trans_b = false, bias = false, fp16 = false;
  uint32_t batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  uint32_t ldc_pad = 0, c_off = 0;
  ops::GemmPath path = ops::GemmPath::automatic;
};
Check gemm(Stream& s, const GemmShape& shape, bool corrupt = false);
Check layer_norm(Stream& s, uint32_t rows, uint32_t cols, bool corrupt = false);
Check activation(Stream& s, Activation act, uint32_t n, bool corrupt = false);
Check softmax(Stream& s, uint32_t rows, uint32_t n, bool corrupt = false);
// Gathers rows of a [vocab, cols] table uploaded in chunks of `chunk_rows` rows.
Check embedding(Stream& s, uint32_t rows, uint32_t cols, uint32_t vocab, uint32_t chunk_rows, bool corrupt = false);
Check bias_residual(Stream& s, uint32_t rows, uint32_t cols, bool corrupt = false);

struct SparseShape {
  int64_t len = 64;  // a multiple of block
  int block = 8, random = 1, heads = 2, head_dim = 8, batch = 1;
  int padded_tail = 0;  // the last padded_tail positions of batch row 0 are padding (mask 0)
  int layer = 0;
  attn::RandomBlocks mode = attn::RandomBlocks::HFTrain;
  uint32_t split_blocks = 0;  // forward split-K part size, as ops::upload_pattern (0 = automatic)
};
// Context and captured probabilities against attn::block_sparse_attention.
Check block_sparse_attention(Stream& s, const SparseShape& shape, bool corrupt = false);
// dQ, dK, dV against reference::block_sparse_attention_backward.
Check block_sparse_attention_backward(Stream& s, const SparseShape& shape, bool corrupt = false);

struct DenseShape {
  int64_t Lq = 32, Lk = 32;
  int heads = 2, head_dim = 8, batch = 1;
  int padded_tail = 0;          // masked keys at the end of batch row 0
  bool lowest_penalty = false;  // HF's finfo.min instead of -10000
  bool causal = false;
  int64_t causal_offset = 0;
  int simulated_block = 0;  // > 0: simulated_sparse with this block size (Lq == Lk)
};
// Context and captured probabilities against attn::dense_attention.
Check dense_attention(Stream& s, const DenseShape& shape, bool corrupt = false);

// The start-up suite: every kernel on small shapes. `corrupt_kernel` ("any" = the first) is
// perturbed. Stops at the first failure.
std::vector<Check> self_test_suite(Stream& s, const std::string& corrupt_kernel);

}  // namespace bb::vk::checks
