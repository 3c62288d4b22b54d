#include "engine/backend/vulkan/vk_train_checks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "engine/backend/vulkan/vk_check_util.h"
#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_train_ops.h"
#include "engine/models/parameters.h"
#include "engine/ops/activations_backward.h"
#include "engine/ops/embedding_backward.h"
#include "engine/ops/layer_norm_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/normalization.h"
#include "engine/ops/softmax_backward.h"
#include "engine/train/attention_train.h"
#include "engine/train/cross_entropy.h"
#include "engine/train/dropout.h"
#include "engine/train/optimizer.h"

namespace bb::vk::checks {

namespace {

// Per-op tolerances on the normalised max error. Sums over rows / keys run in another order than
// on the CPU (and the CPU accumulates LayerNorm statistics in double): fp32 rounding only.
constexpr double kTolNormBackward = 2e-5, kTolActivation = 1e-5, kTolSoftmax = 2e-6, kTolLoss = 1e-5, kTolGemm = 1e-5,
                 kTolAdam = 1e-5, kTolNorm = 1e-5, kTolExact = 0.0, kTolAttention = 1e-5;

using util::compare;
using util::dims;
using util::finish;
using util::perturb;
using util::randn;

Buffer up(Stream& s, const std::vector<float>& v) { return upload_floats(s, v.data(), int64_t(v.size())); }
std::vector<float> down(Stream& s, const Buffer& b, size_t n) { return download_floats(s, b, int64_t(n)); }

}  // namespace

Check layer_norm_backward(Stream& s, uint32_t rows, uint32_t cols, bool accumulate, bool corrupt) {
  const size_t n = size_t(rows) * cols;
  const std::vector<float> x = randn(n, 2.0f, 101, 0.5f), dy = randn(n, 1.0f, 102),
                           gamma = randn(cols, 0.3f, 103, 1.0f);
  const std::vector<float> dx0 = randn(n, 1.0f, 104), dg0 = randn(cols, 1.0f, 105), db0 = randn(cols, 1.0f, 106);
  std::vector<float> want_dx = dx0, want_dg = dg0, want_db = db0;
  bb::ops::layer_norm_backward(dy.data(), x.data(), gamma.data(), 1e-5f, rows, cols, want_dx.data(), want_dg.data(),
                               want_db.data(), accumulate);
  Buffer ddy = up(s, dy), dx_in = up(s, x), dgam = up(s, gamma), ddx = up(s, dx0), ddg = up(s, dg0), ddb = up(s, db0);
  ops::layer_norm_backward(s, view_of(ddy), view_of(dx_in), view_of(dgam), view_of(ddx), view_of(ddg), view_of(ddb),
                           rows, cols, 1e-5f, accumulate);
  std::vector<float> got_dx = down(s, ddx, n), got_dg = down(s, ddg, cols), got_db = down(s, ddb, cols);
  perturb(got_dg, corrupt);
  const double err = std::max({compare(got_dx, want_dx), compare(got_dg, want_dg), compare(got_db, want_db)});
  return finish("layer_norm_backward", dims({rows, cols}) + (accumulate ? " accumulate" : ""), err, kTolNormBackward);
}

Check activation_backward(Stream& s, Activation act, uint32_t n, bool corrupt) {
  const std::vector<float> x = randn(n, 3.0f, 111), dy = randn(n, 1.0f, 112);
  std::vector<float> want(n);
  bb::ops::activation_backward(act, x.data(), dy.data(), want.data(), n);
  Buffer dx_in = up(s, x), ddy = up(s, dy);
  ops::activation_backward(s, act, view_of(dx_in), view_of(ddy), view_of(ddy), n);  // in place
  std::vector<float> got = down(s, ddy, n);
  perturb(got, corrupt);
  return finish("activation_backward", to_string(act) + " " + std::to_string(n), compare(got, want), kTolActivation);
}

Check softmax_backward(Stream& s, uint32_t rows, uint32_t n, bool corrupt) {
  std::vector<float> P = randn(size_t(rows) * n, 3.0f, 121);
  bb::ops::softmax_rows(P.data(), rows, n, n);
  const std::vector<float> dP = randn(P.size(), 1.0f, 122);
  std::vector<float> want(P.size());
  bb::ops::softmax_rows_backward(P.data(), dP.data(), want.data(), rows, n, n);
  Buffer dp = up(s, P), ddp = up(s, dP);
  ops::softmax_backward(s, view_of(dp), view_of(ddp), view_of(ddp), rows, n, n);
  std::vector<float> got = down(s, ddp, P.size());
  perturb(got, corrupt);
  return finish("softmax_backward", dims({rows, n}), compare(got, want), kTolSoftmax);
}

Check cross_entropy(Stream& s, uint32_t rows, uint32_t classes, bool corrupt) {
  const std::vector<float> z = randn(size_t(rows) * classes, 3.0f, 131);
  std::mt19937 gen(132);
  std::vector<int64_t> targets(rows);
  std::vector<int32_t> targets32(rows);
  for (uint32_t r = 0; r < rows; ++r) {
    targets[r] = r % 3 == 2 ? -100 : int64_t(gen() % classes);
    targets32[r] = int32_t(targets[r]);
  }
  const float grad_scale = 0.5f;
  std::vector<float> want_dz(z.size());
  const train::CrossEntropyResult want =
      train::cross_entropy(z.data(), rows, classes, targets.data(), -100, want_dz.data(), grad_scale);
  Buffer dz = up(s, z), dt = upload_ints(s, targets32.data(), rows), dl = make_buffer(s.device(), int64_t(rows) * 2);
  const float g = want.count > 0 ? float(double(grad_scale) / double(want.count)) : 0.0f;
  ops::cross_entropy(s, view_of(dz), view_of(dt), view_of(dl), view_of(dz), rows, classes, classes, -100, g);
  std::vector<float> got_dz = down(s, dz, z.size());
  const std::vector<float> lc = down(s, dl, size_t(rows) * 2);
  perturb(got_dz, corrupt);
  double total = 0;
  int64_t correct = 0;
  for (uint32_t r = 0; r < rows; ++r) {
    total += lc[2 * r];
    correct += lc[2 * r + 1] != 0.0f;
  }
  const double loss = want.count > 0 ? total / double(want.count) : 0.0;
  double err = std::max(compare(got_dz, want_dz), std::fabs(loss - want.loss) / std::max(1.0, std::fabs(want.loss)));
  if (correct != want.correct) err = std::numeric_limits<double>::infinity();
  return finish("cross_entropy", dims({rows, classes}), err, kTolLoss);
}

Check linear_backward(Stream& s, uint32_t M, uint32_t K, uint32_t N, bool accumulate_dx, bool corrupt) {
  const std::vector<float> dy = randn(size_t(M) * N, 1.0f, 141), x = randn(size_t(M) * K, 1.0f, 142),
                           w = randn(size_t(N) * K, 1.0f, 143), dx0 = randn(size_t(M) * K, 1.0f, 144),
                           dw0 = randn(size_t(N) * K, 1.0f, 145), db0 = randn(N, 1.0f, 146);
  std::vector<float> want_dx = dx0, want_dw = dw0, want_db = db0;
  bb::ops::linear_backward(dy.data(), x.data(), w.data(), M, K, N, want_dx.data(), want_dw.data(), want_db.data(),
                           accumulate_dx);
  const std::vector<float> ones(M, 1.0f);
  Buffer ddy = up(s, dy), dxin = up(s, x), dw = up(s, w), ddx = up(s, dx0), ddw = up(s, dw0), ddb = up(s, db0),
         d1 = up(s, ones);
  ops::linear_backward(s, view_of(ddy), view_of(dxin), view_of(dw), M, K, N, view_of(ddx), view_of(ddw), view_of(ddb),
                       view_of(d1), accumulate_dx);
  std::vector<float> got_dx = down(s, ddx, want_dx.size()), got_dw = down(s, ddw, want_dw.size()),
                     got_db = down(s, ddb, N);
  perturb(got_db, corrupt);
  const double err = std::max({compare(got_dx, want_dx), compare(got_dw, want_dw), compare(got_db, want_db)});
  return finish("linear_backward", dims({M, K, N}) + (accumulate_dx ? " accumulate" : ""), err, kTolGemm);
}

Check adamw(Stream& s, uint32_t n, bool adam_weight_decay, int steps, double clip, bool corrupt) {
  train::OptimizerConfig cfg;
  cfg.kind = adam_weight_decay ? train::OptimizerKind::AdamWeightDecay : train::OptimizerKind::AdamW;
  cfg.weight_decay = 0.05;
  train::Optimizer opt(cfg);
  const char* names[2] = {"w.weight", "w.bias"};  // decayed, exempt
  ParameterStore params, grads;
  for (int i = 0; i < 2; ++i) params.set(names[i], Tensor::from({int64_t(n)}, randn(n, 1.0f, 150 + i)));
  std::vector<Buffer> w, m, v, g;
  for (int i = 0; i < 2; ++i) {
    w.push_back(up(s, std::vector<float>(params.get(names[i]).data(), params.get(names[i]).data() + n)));
    m.push_back(make_buffer(s.device(), n));
    v.push_back(make_buffer(s.device(), n));
    const std::vector<float> zeros(n, 0.0f);
    s.upload(m.back(), zeros.data(), uint64_t(n) * 4);
    s.upload(v.back(), zeros.data(), uint64_t(n) * 4);
  }
  const double lr = 1e-3;
  for (int step = 1; step <= steps; ++step) {
    for (int i = 0; i < 2; ++i) {
      const std::vector<float> gv = randn(n, 0.1f, 160 + 7 * step + i);
      grads.set(names[i], Tensor::from({int64_t(n)}, gv));
      g.push_back(up(s, gv));
      const ops::AdamStep a = ops::adam_step(adam_weight_decay, cfg.beta1, cfg.beta2, cfg.effective_eps(), lr * step,
                                             cfg.weight_decay, opt.decays(names[i]), step, clip);
      ops::adamw(s, view_of(w[size_t(i)]), view_of(g.back()), view_of(m[size_t(i)]), view_of(v[size_t(i)]), n, a);
    }
    if (clip != 1.0)  // as clip_grad_norm: every gradient scaled by float(coef)
      for (int i = 0; i < 2; ++i) {
        Tensor& t = grads.mutable_get(names[i]);
        for (int64_t j = 0; j < t.numel(); ++j) t[j] *= float(clip);
      }
    opt.step(params, grads, lr * step);
  }
  double err = 0;
  for (int i = 0; i < 2; ++i) {
    std::vector<float> got = down(s, w[size_t(i)], n);
    if (i == 0) perturb(got, corrupt);
    const Tensor& want = params.get(names[i]);
    err = std::max(err, compare(got, std::vector<float>(want.data(), want.data() + n)));
  }
  return finish("adamw",
                std::string(adam_weight_decay ? "adam-weight-decay " : "adamw ") + std::to_string(n) + " steps " +
                    std::to_string(steps) + (clip != 1.0 ? " clipped" : ""),
                err, kTolAdam);
}

Check sum_squares(Stream& s, uint32_t n, bool corrupt) {
  const std::vector<float> x = randn(n, 1.0f, 171);
  ParameterStore store;
  store.set("x", Tensor::from({int64_t(n)}, x));
  const double want = train::global_grad_norm(store);
  const uint32_t groups = ops::sum_squares_groups(n);
  Buffer dx = up(s, x), dp = make_buffer(s.device(), groups + 3);
  ops::sum_squares(s, view_of(dx), n, view_of(dp), 3);  // at an offset, as the trainer packs tensors
  std::vector<float> parts = down(s, dp, groups + 3);
  perturb(parts, corrupt);
  double total = 0;
  for (uint32_t i = 3; i < groups + 3; ++i) total += parts[i];
  return finish("sum_squares", std::to_string(n), std::fabs(std::sqrt(total) - want) / std::max(1.0, want), kTolNorm);
}

Check scale_mask(Stream& s, uint32_t n, float p, bool corrupt) {
  const std::vector<float> x = randn(n, 1.0f, 181);
  std::vector<float> want = x, mask(n);
  const uint64_t key = train::dropout_key(7, 1, 2);
  train::dropout_forward(want.data(), n, p, key);
  const float scale = 1.0f / (1.0f - p);
  for (uint32_t i = 0; i < n; ++i) mask[i] = train::dropout_uniform(key, i) >= p ? scale : 0.0f;
  Buffer dx = up(s, x), dm = up(s, mask);
  ops::scale_mask(s, view_of(dx), view_of(dm), view_of(dx), n);
  Buffer filled = up(s, x);
  ops::fill(s, view_of(filled), n, -2.5f);
  std::vector<float> got = down(s, dx, n), got_fill = down(s, filled, n);
  perturb(got, corrupt);
  const double err = std::max(compare(got, want), compare(got_fill, std::vector<float>(n, -2.5f)));
  return finish("scale_mask", std::to_string(n) + " p " + std::to_string(p).substr(0, 4), err, kTolExact);
}

Check scatter_add_rows(Stream& s, uint32_t rows, uint32_t cols, uint32_t vocab, int64_t padding_id, bool corrupt) {
  const std::vector<float> dy = randn(size_t(rows) * cols, 1.0f, 201), table0 = randn(size_t(vocab) * cols, 1.0f, 202);
  std::mt19937 gen(203);
  std::vector<int64_t> ids(rows);
  for (int64_t& id : ids) id = int64_t(gen() % vocab);
  if (rows > 2) ids[1] = ids[rows - 1];  // a repeated id for sure
  std::vector<float> want = table0;
  bb::ops::embedding_backward(dy.data(), ids.data(), rows, cols, want.data(), padding_id);
  const ops::RowScatter plan = ops::plan_row_scatter(ids, padding_id);
  Buffer ddy = up(s, dy), dt = up(s, table0);
  Buffer idx = upload_ints(s, reinterpret_cast<const int32_t*>(plan.index.data()), int64_t(plan.index.size()));
  ops::scatter_add_rows(s, view_of(ddy), view_of(idx), plan, view_of(dt), cols);
  std::vector<float> got = down(s, dt, want.size());
  perturb(got, corrupt);
  return finish("scatter_add_rows",
                dims({rows, cols}) + " vocab " + std::to_string(vocab) + " pad " + std::to_string(padding_id),
                compare(got, want), kTolGemm);
}

namespace {

Check dense_backward_check(Stream& s, const DenseShape& sh, float p, bool corrupt) {
  const int64_t L = sh.Lq, H = int64_t(sh.heads) * sh.head_dim, n = sh.batch * L * H;
  const std::vector<float> q = randn(size_t(n), 1.0f, 191), k = randn(size_t(n), 1.0f, 192),
                           v = randn(size_t(n), 1.0f, 193), dout = randn(size_t(n), 1.0f, 194);
  std::vector<float> mask(size_t(sh.batch * L), 1.0f);
  for (int64_t t = L - sh.padded_tail; t < L; ++t) mask[size_t(t)] = 0.0f;  // batch row 0 only
  std::vector<float> want_q(size_t(n), 0.0f), want_k(size_t(n), 0.0f), want_v(size_t(n), 0.0f),
      want_ctx(size_t(n), 0.0f);
  for (int z = 0; z < sh.batch; ++z) {
    train::AttentionTrainArgs a;
    const size_t off = size_t(z * L * H);
    a.q = q.data() + off;
    a.k = k.data() + off;
    a.v = v.data() + off;
    a.ld = H;
    a.len = L;
    a.heads = sh.heads;
    a.head_dim = sh.head_dim;
    a.mask = mask.data() + z * L;
    a.type = attn::AttentionType::OriginalFull;
    a.dropout = p;
    a.dropout_key = train::dropout_key(7, uint64_t(z));
    train::attention_train_forward(a, want_ctx.data() + off);
    train::attention_backward(a, dout.data() + off, want_q.data() + off, want_k.data() + off, want_v.data() + off);
  }
  Buffer dq = upload_floats(s, q.data(), n), dk = upload_floats(s, k.data(), n), dv = upload_floats(s, v.data(), n);
  Buffer dm = up(s, mask), ddo = upload_floats(s, dout.data(), n);
  Buffer dc = make_buffer(s.device(), n), dl = make_buffer(s.device(), sh.batch * sh.heads * L);
  Buffer gq = make_buffer(s.device(), n), gk = make_buffer(s.device(), n), gv = make_buffer(s.device(), n);
  ops::DenseAttention a;
  a.q = view_of(dq);
  a.k = view_of(dk);
  a.v = view_of(dv);
  a.ctx = view_of(dc);
  a.key_mask = view_of(dm);
  a.lse = view_of(dl);
  a.Lq = a.Lk = uint32_t(L);
  a.heads = uint32_t(sh.heads);
  a.head_dim = uint32_t(sh.head_dim);
  a.batch = uint32_t(sh.batch);
  a.ldq = a.ldkv = a.ldc = uint32_t(H);
  a.q_batch = a.kv_batch = a.c_batch = uint32_t(L * H);
  a.penalty = std::numeric_limits<float>::lowest();
  ops::DenseAttentionGrad g;
  std::vector<Buffer> masks;
  if (p > 0.0f) {
    const float scale = 1.0f / (1.0f - p);
    for (int h = 0; h < sh.heads; ++h) {
      std::vector<float> m(size_t(sh.batch * L * L));
      for (int z = 0; z < sh.batch; ++z) {
        const uint64_t key = train::dropout_key(7, uint64_t(z));
        for (int64_t i = 0; i < L * L; ++i)
          m[size_t(z * L * L + i)] = train::dropout_uniform(key, uint64_t(h * L * L + i)) >= p ? scale : 0.0f;
      }
      masks.push_back(up(s, m));
      g.prob_masks.push_back(view_of(masks.back()));
    }
    ops::dense_attention_dropout(s, a, g.prob_masks);
  } else {
    ops::dense_attention(s, a);
  }
  g.dout = view_of(ddo);
  g.dq = view_of(gq);
  g.dk = view_of(gk);
  g.dv = view_of(gv);
  g.ldo = uint32_t(H);
  g.o_batch = uint32_t(L * H);
  ops::dense_attention_backward(s, a, g);
  std::vector<float> got_q = download_floats(s, gq, n), got_k = download_floats(s, gk, n),
                     got_v = download_floats(s, gv, n), got_ctx = download_floats(s, dc, n);
  perturb(got_v, corrupt);
  double err = std::max({compare(got_q, want_q), compare(got_k, want_k), compare(got_v, want_v)});
  if (p > 0.0f) err = std::max(err, compare(got_ctx, want_ctx));
  return finish(p > 0.0f ? "attention_dense_dropout" : "attention_dense_backward",
                dims({L, L}) + " heads " + std::to_string(sh.heads) + " d " + std::to_string(sh.head_dim) + " batch " +
                    std::to_string(sh.batch) + " pad " + std::to_string(sh.padded_tail) +
                    (p > 0.0f ? " p " + std::to_string(p).substr(0, 4) : ""),
                err, kTolAttention);
}

}  // namespace

Check dense_attention_backward(Stream& s, const DenseShape& sh, bool corrupt) {
  return dense_backward_check(s, sh, 0.0f, corrupt);
}

Check dense_attention_dropout(Stream& s, const DenseShape& sh, float p, bool corrupt) {
  return dense_backward_check(s, sh, p, corrupt);
}

std::vector<Check> training_suite(Stream& s, const std::string& corrupt_kernel) {
  std::vector<Check> out;
  bool corrupted = false;
  auto corrupt = [&](const char* kernel) {
    if (corrupted || corrupt_kernel.empty()) return false;
    if (corrupt_kernel != "any" && corrupt_kernel != kernel) return false;
    corrupted = true;
    return true;
  };
  auto add = [&](Check c) {
    out.push_back(std::move(c));
    return out.back().passed;
  };
  if (!add(layer_norm_backward(s, 9, 70, true, corrupt("layer_norm_backward")))) return out;
  for (Activation act : {Activation::GeluNew, Activation::Gelu, Activation::Relu, Activation::Tanh})
    if (!add(activation_backward(s, act, 777, corrupt("activation_backward")))) return out;
  if (!add(softmax_backward(s, 5, 130, corrupt("softmax_backward")))) return out;
  if (!add(cross_entropy(s, 7, 37, corrupt("cross_entropy")))) return out;
  if (!add(linear_backward(s, 19, 23, 17, true, corrupt("linear_backward")))) return out;
  if (!add(adamw(s, 300, false, 2, 0.5, corrupt("adamw")))) return out;
  if (!add(sum_squares(s, 1000, corrupt("sum_squares")))) return out;
  if (!add(scale_mask(s, 500, 0.1f, corrupt("scale_mask")))) return out;
  if (!add(scatter_add_rows(s, 30, 19, 11, 0, corrupt("scatter_add_rows")))) return out;
  DenseShape de;
  de.Lq = de.Lk = 19;
  de.batch = 2;
  de.padded_tail = 4;
  if (!add(dense_attention_backward(s, de, corrupt("attention_dense_backward")))) return out;
  if (!add(dense_attention_dropout(s, de, 0.2f, corrupt("attention_dense_dropout")))) return out;
  return out;
}

}  // namespace bb::vk::checks
