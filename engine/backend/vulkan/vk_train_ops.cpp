#include "engine/backend/vulkan/vk_train_ops.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"

namespace bb::vk::ops {

namespace {

// Push-constant blocks, member for member as in the shaders.
struct LayerNormBackwardPush {
  uint32_t rows, cols;
  float eps;
  uint32_t flags;
};
struct ActivationBackwardPush {
  uint32_t n, kind;
};
struct SoftmaxBackwardPush {
  uint32_t rows, n, ld, off;
};
struct CrossEntropyPush {
  uint32_t rows, classes, ld;
  int32_t ignore_index;
  float g;
  uint32_t flags;
};
struct AdamPush {
  uint32_t n, kind;
  float clip, b1, b2, c1, c2, lr, eps, wd, decay, step_size, bc2_sqrt;
};
struct SumSquaresPush {
  uint32_t n, out_off;
};
struct ScaleMaskPush {
  uint32_t n, flags;
  float value;
};
struct ScatterPush {
  uint32_t count, cols, rows_base, dst_base, u_begin;
};

constexpr KernelLayout kLayerNormBackward{"layer_norm_backward", 5, sizeof(LayerNormBackwardPush)};
constexpr KernelLayout kLayerNormBackwardParams{"layer_norm_backward_params", 5, sizeof(LayerNormBackwardPush)};
constexpr KernelLayout kActivationBackward{"activation_backward", 3, sizeof(ActivationBackwardPush)};
constexpr KernelLayout kSoftmaxBackward{"softmax_backward", 3, sizeof(SoftmaxBackwardPush)};
constexpr KernelLayout kCrossEntropy{"cross_entropy", 4, sizeof(CrossEntropyPush)};
constexpr KernelLayout kAdam{"adamw", 4, sizeof(AdamPush)};
constexpr KernelLayout kSumSquares{"sum_squares", 2, sizeof(SumSquaresPush)};
constexpr KernelLayout kScaleMask{"scale_mask", 3, sizeof(ScaleMaskPush)};
constexpr KernelLayout kScatterAddRows{"scatter_add_rows", 3, sizeof(ScatterPush)};

constexpr uint32_t kRowWG = 128;     // row kernels (power of two)
constexpr uint32_t kColWG = 64;      // one thread per column
constexpr uint32_t kStreamWG = 256;  // grid-stride element-wise kernels
constexpr uint32_t kMaxGridGroups = 4096;

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

void require(bool ok, const char* op, const char* what) {
  if (!ok) throw VulkanError(std::string(op) + ": " + what, VK_ERROR_UNKNOWN);
}

// Row-parallel kernels index rows as y * gridX + x so any row count fits the 65535 limit.
void row_grid(const Device& d, uint32_t rows, uint32_t& gx, uint32_t& gy) {
  gx = std::min<uint32_t>(rows, d.info().max_workgroup_count[0]);
  gy = ceil_div(rows, gx);
}

uint32_t stream_groups(uint64_t n) {
  return std::max<uint32_t>(1, std::min<uint32_t>(ceil_div(n, kStreamWG), kMaxGridGroups));
}

uint32_t activation_kind(Activation a) {
  switch (a) {
    case Activation::GeluNew:
      return 0;
    case Activation::GeluFast:
      return 1;
    case Activation::Gelu:
      return 2;
    case Activation::Relu:
      return 3;
    case Activation::Tanh:
      return 4;
  }
  return 0;
}

}  // namespace

void layer_norm_backward(Stream& s, View dy, View x, View gamma, View dx, View dgamma, View dbeta, uint32_t rows,
                         uint32_t cols, float eps, bool accumulate_dx) {
  if (rows == 0 || cols == 0) return;
  require(!dy.empty() && !x.empty() && !gamma.empty() && !dx.empty(), "layer_norm_backward",
          "dy, x, gamma and dx must be bound");
  uint32_t gx, gy;
  row_grid(s.device(), rows, gx, gy);
  const double work = 10.0 * rows * cols;
  Buffer stats = make_buffer(s.device(), int64_t(rows) * 2);
  const View st = view_of(stats);
  if (!dgamma.empty() || !dbeta.empty()) {
    // Statistics, then the parameter sums (they read dy, which dx may overwrite next).
    LayerNormBackwardPush p{rows, cols, eps, 2u};
    s.dispatch(kLayerNormBackward, {kRowWG}, {dy, x, gamma, st, dx}, &p, gx, gy, 1, work);
    LayerNormBackwardPush q{rows, cols, eps, (dgamma.empty() ? 0u : 1u) | (dbeta.empty() ? 0u : 2u)};
    s.dispatch(kLayerNormBackwardParams, {kColWG}, {dy, x, st, dgamma, dbeta}, &q, ceil_div(cols, kColWG), 1, 1,
               4.0 * rows * cols);
  }
  LayerNormBackwardPush p{rows, cols, eps, accumulate_dx ? 1u : 0u};
  s.dispatch(kLayerNormBackward, {kRowWG}, {dy, x, gamma, st, dx}, &p, gx, gy, 1, work);
  s.release_after_flush(std::move(stats));
}

void activation_backward(Stream& s, Activation act, View x, View dy, View dx, uint32_t n) {
  if (n == 0) return;
  ActivationBackwardPush p{n, activation_kind(act)};
  s.dispatch(kActivationBackward, {kStreamWG}, {x, dy, dx}, &p, stream_groups(n), 1, 1, 20.0 * n);
}

void softmax_backward(Stream& s, View P, View dP, View dS, uint32_t rows, uint32_t n, uint32_t ld, uint32_t off) {
  if (rows == 0 || n == 0) return;
  SoftmaxBackwardPush p{rows, n, ld, off};
  uint32_t gx, gy;
  row_grid(s.device(), rows, gx, gy);
  s.dispatch(kSoftmaxBackward, {kRowWG}, {P, dP, dS}, &p, gx, gy, 1, 4.0 * rows * n);
}

void cross_entropy(Stream& s, View logits, View targets, View loss_correct, View dlogits, uint32_t rows,
                   uint32_t classes, uint32_t ld, int32_t ignore_index, float g) {
  if (rows == 0) return;
  require(classes > 0 && !logits.empty() && !targets.empty() && !loss_correct.empty(), "cross_entropy",
          "logits, targets and the loss buffer must be bound");
  CrossEntropyPush p{rows, classes, ld, ignore_index, g, dlogits.empty() ? 0u : 1u};
  uint32_t gx, gy;
  row_grid(s.device(), rows, gx, gy);
  s.dispatch(kCrossEntropy, {kRowWG}, {logits, targets, loss_correct, dlogits}, &p, gx, gy, 1, 8.0 * rows * classes);
}

void scale_mask(Stream& s, View x, View mask, View y, uint32_t n) {
  if (n == 0) return;
  ScaleMaskPush p{n, 0u, 0.0f};
  s.dispatch(kScaleMask, {kStreamWG}, {x, mask, y}, &p, stream_groups(n), 1, 1, double(n));
}

void fill(Stream& s, View y, uint32_t n, float value) {
  if (n == 0) return;
  ScaleMaskPush p{n, 1u, value};
  s.dispatch(kScaleMask, {kStreamWG}, {View{}, View{}, y}, &p, stream_groups(n), 1, 1, double(n));
}

RowScatter plan_row_scatter(const std::vector<int64_t>& ids, int64_t skip_id) {
  RowScatter r;
  std::map<int64_t, std::vector<uint32_t>> by_id;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != skip_id) by_id[ids[i]].push_back(uint32_t(i));
  r.count = uint32_t(by_id.size());
  r.rows_base = r.count + 1;
  r.dst_base = r.rows_base + uint32_t(ids.size());
  r.index.assign(size_t(r.dst_base) + r.count, 0u);
  uint32_t u = 0, j = 0;
  for (const auto& [id, rows] : by_id) {
    r.index[u] = j;
    for (uint32_t row : rows) r.index[size_t(r.rows_base) + j++] = row;
    r.index[size_t(r.dst_base) + u] = uint32_t(id);
    ++u;
  }
  r.index[u] = j;
  return r;
}

void scatter_add_rows(Stream& s, View src, View index, const RowScatter& r, View out, uint32_t cols) {
  if (r.count == 0 || cols == 0) return;
  const uint32_t per = s.device().info().max_workgroup_count[0];
  for (uint32_t u0 = 0; u0 < r.count; u0 += per) {
    ScatterPush p{r.count, cols, r.rows_base, r.dst_base, u0};
    s.dispatch(kScatterAddRows, {kColWG}, {src, index, out}, &p, std::min(per, r.count - u0), 1, 1,
               double(r.dst_base) * cols);
  }
}

void linear_backward(Stream& s, View dy, View x, View w, uint32_t M, uint32_t K, uint32_t N, View dx, View dW, View db,
                     View ones, bool accumulate_dx) {
  if (M == 0) return;
  if (!dx.empty()) {  // dx[M,K] = dy[M,N]·W[N,K]
    Gemm g;
    g.a = dy;
    g.b = w;
    g.c = dx;
    g.M = M;
    g.N = K;
    g.K = N;
    g.lda = N;
    g.ldb = K;
    g.ldc = K;
    g.beta = accumulate_dx ? 1.0f : 0.0f;
    gemm(s, g);
  }
  if (!dW.empty()) {  // dW[N,K] += dyᵀ·x
    Gemm g;
    g.a = dy;
    g.b = x;
    g.c = dW;
    g.trans_a = true;
    g.M = N;
    g.N = K;
    g.K = M;
    g.lda = N;
    g.ldb = K;
    g.ldc = K;
    g.beta = 1.0f;
    gemm(s, g);
  }
  if (!db.empty()) {  // db[1,N] += ones[1,M]·dy[M,N]
    require(!ones.empty(), "linear_backward", "the bias gradient needs a ones vector");
    Gemm g;
    g.a = ones;
    g.b = dy;
    g.c = db;
    g.M = 1;
    g.N = N;
    g.K = M;
    g.lda = M;
    g.ldb = N;
    g.ldc = N;
    g.beta = 1.0f;
    gemm(s, g);
  }
}

uint32_t sum_squares_groups(uint32_t n) { return std::min<uint32_t>(stream_groups(n), 256); }

void sum_squares(Stream& s, View x, uint32_t n, View partial, uint32_t out_off) {
  if (n == 0) return;
  SumSquaresPush p{n, out_off};
  s.dispatch(kSumSquares, {kStreamWG}, {x, partial}, &p, sum_squares_groups(n), 1, 1, 2.0 * n);
}

AdamStep adam_step(bool adam_weight_decay, double beta1, double beta2, double eps, double lr, double weight_decay,
                   bool decays, int64_t step, double clip) {
  AdamStep a;
  a.adam_weight_decay = adam_weight_decay;
  const double bc1 = 1.0 - std::pow(beta1, double(step)), bc2 = 1.0 - std::pow(beta2, double(step));
  a.clip = float(clip);
  a.b1 = float(beta1);
  a.b2 = float(beta2);
  a.c1 = float(1.0 - beta1);
  a.c2 = float(1.0 - beta2);
  a.lr = float(lr);
  a.eps = float(eps);
  a.wd = decays ? float(weight_decay) : 0.0f;
  a.step_size = float(lr / bc1);
  a.bc2_sqrt = float(std::sqrt(bc2));
  a.decay = float(1.0 - lr * (decays ? weight_decay : 0.0));
  return a;
}

void adamw(Stream& s, View w, View g, View m, View v, uint32_t n, const AdamStep& a) {
  if (n == 0) return;
  AdamPush p{
      n,         a.adam_weight_decay ? 1u : 0u, a.clip, a.b1, a.b2, a.c1, a.c2, a.lr, a.eps, a.wd, a.decay, a.step_size,
      a.bc2_sqrt};
  s.dispatch(kAdam, {kStreamWG}, {w, g, m, v}, &p, stream_groups(n), 1, 1, 12.0 * n);
}

namespace {

void check_full_attention(const DenseAttention& a, const char* op) {
  require(!a.lse.empty(), op, "needs the forward pass's lse");
  require(!a.causal && a.block_bias.empty() && !a.zero_padded_queries, op,
          "only original_full attention (key mask only) is supported");
}

}  // namespace

void dense_attention_dropout(Stream& s, const DenseAttention& a, const std::vector<View>& prob_masks) {
  if (a.Lq == 0) return;
  check_full_attention(a, "dense_attention_dropout");
  require(prob_masks.size() == a.heads, "dense_attention_dropout", "needs one mask per head");
  dense_attention(s, a);  // the lse (its context is replaced below)
  const uint32_t D = a.head_dim, tile = a.Lq * a.Lk;
  Buffer probs = make_buffer(s.device(), int64_t(a.batch) * tile);
  const View P = view_of(probs);
  for (uint32_t h = 0; h < a.heads; ++h) {
    dense_attention_probs(s, a, h, P);
    scale_mask(s, P, prob_masks[h], P, a.batch * tile);
    Gemm m;  // ctx_h[Lq, D] = Pd·V_h
    m.a = P;
    m.b = a.v;
    m.c = a.ctx;
    m.M = a.Lq;
    m.N = D;
    m.K = a.Lk;
    m.lda = a.Lk;
    m.ldb = a.ldkv;
    m.ldc = a.ldc;
    m.b_off = a.v_off + h * D;
    m.c_off = a.c_off + h * D;
    m.batch = a.batch;
    m.a_batch = tile;
    m.b_batch = a.kv_batch;
    m.c_batch = a.c_batch;
    gemm(s, m);
  }
  s.release_after_flush(std::move(probs));
}

void dense_attention_backward(Stream& s, const DenseAttention& a, const DenseAttentionGrad& g) {
  if (a.Lq == 0) return;
  check_full_attention(a, "dense_attention_backward");
  require(!g.dout.empty() && !g.dq.empty() && !g.dk.empty() && !g.dv.empty(), "dense_attention_backward",
          "dout, dq, dk and dv must be bound");
  const bool drop = !g.prob_masks.empty();
  require(!drop || g.prob_masks.size() == a.heads, "dense_attention_backward", "needs one dropout mask per head");
  const uint32_t D = a.head_dim, Lq = a.Lq, Lk = a.Lk, tile = Lq * Lk;
  const float scale = a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(float(D));
  const int64_t n = int64_t(a.batch) * tile;
  Buffer probs = make_buffer(s.device(), n), dprobs = make_buffer(s.device(), n);
  Buffer dropped = drop ? make_buffer(s.device(), n) : Buffer();
  const View P = view_of(probs), dP = view_of(dprobs), Pd = drop ? view_of(dropped) : P;
  auto batched = [&](Gemm& m, uint32_t a_batch, uint32_t b_batch, uint32_t c_batch) {
    m.batch = a.batch;
    m.a_batch = a_batch;
    m.b_batch = b_batch;
    m.c_batch = c_batch;
    gemm(s, m);
  };
  for (uint32_t h = 0; h < a.heads; ++h) {
    dense_attention_probs(s, a, h, P);
    if (drop) scale_mask(s, P, g.prob_masks[h], Pd, uint32_t(n));
    {  // dV_h[Lk, D] = Pdᵀ·dO_h
      Gemm m;
      m.a = Pd;
      m.b = g.dout;
      m.c = g.dv;
      m.trans_a = true;
      m.M = Lk;
      m.N = D;
      m.K = Lq;
      m.lda = Lk;
      m.ldb = g.ldo;
      m.ldc = a.ldkv;
      m.b_off = g.do_off + h * D;
      m.c_off = a.v_off + h * D;
      batched(m, tile, g.o_batch, a.kv_batch);
    }
    {  // dP[Lq, Lk] = dO_h·V_hᵀ
      Gemm m;
      m.a = g.dout;
      m.b = a.v;
      m.c = dP;
      m.trans_b = true;
      m.M = Lq;
      m.N = Lk;
      m.K = D;
      m.lda = g.ldo;
      m.ldb = a.ldkv;
      m.ldc = Lk;
      m.a_off = g.do_off + h * D;
      m.b_off = a.v_off + h * D;
      batched(m, g.o_batch, a.kv_batch, tile);
    }
    if (drop) scale_mask(s, dP, g.prob_masks[h], dP, uint32_t(n));  // through the dropout
    softmax_backward(s, P, dP, dP, a.batch * Lq, Lk, Lk);
    {  // dQ_h = s·dS·K_h
      Gemm m;
      m.a = dP;
      m.b = a.k;
      m.c = g.dq;
      m.M = Lq;
      m.N = D;
      m.K = Lk;
      m.lda = Lk;
      m.ldb = a.ldkv;
      m.ldc = a.ldq;
      m.b_off = a.k_off + h * D;
      m.c_off = a.q_off + h * D;
      m.alpha = scale;
      batched(m, tile, a.kv_batch, a.q_batch);
    }
    {  // dK_h = s·dSᵀ·Q_h
      Gemm m;
      m.a = dP;
      m.b = a.q;
      m.c = g.dk;
      m.trans_a = true;
      m.M = Lk;
      m.N = D;
      m.K = Lq;
      m.lda = Lk;
      m.ldb = a.ldq;
      m.ldc = a.ldkv;
      m.b_off = a.q_off + h * D;
      m.c_off = a.k_off + h * D;
      m.alpha = scale;
      batched(m, tile, a.q_batch, a.kv_batch);
    }
  }
  s.release_after_flush(std::move(probs));
  s.release_after_flush(std::move(dprobs));
  if (drop) s.release_after_flush(std::move(dropped));
}

}  // namespace bb::vk::ops
