#pragma once
// The training kernels (vk_train_ops) against the engine's CPU ops, as vk_kernel_checks does for the
// forward kernels: same Check record, same normalised error, per-op tolerances. `corrupt` perturbs
// the GPU result (fault injection: the check must fail).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_kernel_checks.h"

namespace bb::vk::checks {

// dx (overwritten or accumulated), dgamma and dbeta (accumulated onto non-zero values).
Check layer_norm_backward(Stream& s, uint32_t rows, uint32_t cols, bool accumulate, bool corrupt = false);
Check activation_backward(Stream& s, Activation act, uint32_t n, bool corrupt = false);
Check softmax_backward(Stream& s, uint32_t rows, uint32_t n, bool corrupt = false);
// Per-row losses, argmax hits and dlogits against train::cross_entropy; every third row ignored.
Check cross_entropy(Stream& s, uint32_t rows, uint32_t classes, bool corrupt = false);
// dx, dW, db against ops::linear_backward (dW / db accumulate onto non-zero values).
Check linear_backward(Stream& s, uint32_t M, uint32_t K, uint32_t N, bool accumulate_dx, bool corrupt = false);
// `steps` optimizer steps against train::Optimizer (adamw or adam-weight-decay, a decayed and an
// exempt parameter), gradients clipped by `clip` (< 1) on both sides.
Check adamw(Stream& s, uint32_t n, bool adam_weight_decay, int steps, double clip, bool corrupt = false);
// Gradient norm from the partial sums against train::global_grad_norm.
Check sum_squares(Stream& s, uint32_t n, bool corrupt = false);
// Dropout with a host-drawn mask against train::dropout_forward, and ops::fill (exact).
Check scale_mask(Stream& s, uint32_t n, float p, bool corrupt = false);
// Row scatter-add against ops::embedding_backward (ids in [0, vocab), padding id skipped).
Check scatter_add_rows(Stream& s, uint32_t rows, uint32_t cols, uint32_t vocab, int64_t padding_id,
                       bool corrupt = false);
// dQ, dK, dV against train::attention_backward (original_full, HF's finfo.min key penalty).
Check dense_attention_backward(Stream& s, const DenseShape& shape, bool corrupt = false);
// With attention-probability dropout p (masks drawn as train::attention_train_forward draws them):
// the context of ops::dense_attention_dropout and dQ, dK, dV against the CPU training attention.
Check dense_attention_dropout(Stream& s, const DenseShape& shape, float p, bool corrupt = false);

// Every training kernel on small shapes (run once per device before the first training step).
// Stops at the first failure.
std::vector<Check> training_suite(Stream& s, const std::string& corrupt_kernel = "");

}  // namespace bb::vk::checks
