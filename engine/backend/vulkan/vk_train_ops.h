#pragma once
// The training kernels as typed ops (the backward halves of vk_ops, the loss and the optimizer),
// llm.c style: each forward op of vk_ops has its backward here, mirroring engine/ops/*_backward,
// engine/train/cross_entropy and engine/train/optimizer. Buffers are dense row-major [rows, cols]
// unless an op takes strides.
#include <cstdint>
#include <vector>

#include "engine/backend/vulkan/vk_ops.h"
#include "engine/models/config.h"

namespace bb::vk::ops {

// dx = LayerNorm backward of dy at the saved input x (overwritten, or added to with accumulate);
// dgamma / dbeta (optional) are added to. dx may alias dy.
void layer_norm_backward(Stream& s, View dy, View x, View gamma, View dx, View dgamma, View dbeta, uint32_t rows,
                         uint32_t cols, float eps, bool accumulate_dx = false);
// dx = act'(x) * dy; dx may alias dy.
void activation_backward(Stream& s, Activation act, View x, View dy, View dx, uint32_t n);
// dS = P * (dP - rowsum(dP * P)) over rows of n values (stride ld, element offset off in all three).
void softmax_backward(Stream& s, View P, View dP, View dS, uint32_t rows, uint32_t n, uint32_t ld, uint32_t off = 0);
// Per row: loss_correct[2r] = logsumexp - z[target], loss_correct[2r+1] = 1 if argmax == target;
// with dlogits (may alias logits): softmax * g, minus g at the target; ignored rows: 0.
// targets int32 [rows]; g = grad_scale / (rows not ignored), as engine/train/cross_entropy.
void cross_entropy(Stream& s, View logits, View targets, View loss_correct, View dlogits, uint32_t rows,
                   uint32_t classes, uint32_t ld, int32_t ignore_index, float g);
// y = x * mask (dropout with a host-drawn mask of 0 and 1/(1-p)); y may alias x.
void scale_mask(Stream& s, View x, View mask, View y, uint32_t n);
// y[0, n) = value.
void fill(Stream& s, View y, uint32_t n, float value);

// Backward of a row gather y[i] = table[ids[i]]: table_grad[id] += sum of the rows i with that id
// (ids equal to skip_id get nothing, as nn.Embedding's padding_idx). The host groups the rows by id
// (CSR, rows in increasing order); upload `index` with upload_ints and pass its view.
struct RowScatter {
  std::vector<uint32_t> index;  // offsets [count + 1], rows, destinations [count]
  uint32_t count = 0, rows_base = 0, dst_base = 0;
};
RowScatter plan_row_scatter(const std::vector<int64_t>& ids, int64_t skip_id = -1);
void scatter_add_rows(Stream& s, View src, View index, const RowScatter& r, View out, uint32_t cols);
// dW[N,K] += dyᵀ·x, db[N] += colsum(dy), dx[M,K] = dy·W (or += with accumulate_dx), as
// engine/ops/linear_backward. Any of dx, dW, db may be empty. `ones` ([M] of 1.0) is needed for db.
void linear_backward(Stream& s, View dy, View x, View w, uint32_t M, uint32_t K, uint32_t N, View dx, View dW, View db,
                     View ones, bool accumulate_dx = false);

// Partial sums of squares of x[0, n): writes sum_squares_groups(n) floats at partial[out_off...].
uint32_t sum_squares_groups(uint32_t n);
void sum_squares(Stream& s, View x, uint32_t n, View partial, uint32_t out_off);

struct AdamStep {
  bool adam_weight_decay = false;  // BigBird's TF AdamWeightDecay instead of torch AdamW
  float clip = 1.0f;               // gradient multiplier (clip_grad_norm's coefficient)
  float b1 = 0.9f, b2 = 0.999f, c1 = 0.1f, c2 = 0.001f, lr = 0.0f, eps = 1e-8f, wd = 0.0f;
  float decay = 1.0f, step_size = 0.0f, bc2_sqrt = 1.0f;  // AdamW's precomputed factors
};
// The coefficients of step `step` (1-based) exactly as engine/train/optimizer.cpp rounds them.
AdamStep adam_step(bool adam_weight_decay, double beta1, double beta2, double eps, double lr, double weight_decay,
                   bool decays, int64_t step, double clip = 1.0);
void adamw(Stream& s, View w, View g, View m, View v, uint32_t n, const AdamStep& a);

// Attention-probability dropout of original_full (HF trains with it): one mask per head, each
// [batch, Lq, Lk] of 0 and 1/(1-p) (drawn on the host like train::attention_train_forward's).
// Runs ops::dense_attention for a.lse, then per head ctx_h = (P_h * mask_h)·V_h. Needs a.lse.
void dense_attention_dropout(Stream& s, const DenseAttention& a, const std::vector<View>& prob_masks);

struct DenseAttentionGrad {
  View dout;        // [batch][Lq, ldo] gradient of the context
  View dq, dk, dv;  // written: dq like q, dk / dv like k / v (same ld, offsets, batch strides)
  uint32_t ldo = 0, do_off = 0, o_batch = 0;
  std::vector<View> prob_masks;  // the forward's dropout masks (empty: no dropout)
};
// Backward of ops::dense_attention (original_full: key mask, no causal, no block bias, queries
// not zeroed), with or without probability dropout: per head the probabilities are recomputed from
// a.lse into a [batch, Lq, Lk] scratch, then dV = Pdᵀ·dO, dP = (dO·Vᵀ) * mask, dS =
// softmax_backward(P, dP), dQ = s·dS·K, dK = s·dSᵀ·Q (Pd = P * mask, the probabilities as used).
void dense_attention_backward(Stream& s, const DenseAttention& a, const DenseAttentionGrad& g);

}  // namespace bb::vk::ops
