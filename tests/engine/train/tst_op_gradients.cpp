// Every op's backward against central finite differences of an fp64 reference of its forward
// (tiny shapes). Each test also checks that the engine's fp32 forward computes the same function
// as the fp64 reference, so the differences are taken of the op that actually runs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/attention/plan.h"
#include "engine/core/error.h"
#include "engine/ops/activations.h"
#include "engine/ops/activations_backward.h"
#include "engine/ops/embedding_backward.h"
#include "engine/ops/gemm.h"
#include "engine/ops/layer_norm_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/normalization.h"
#include "engine/ops/softmax_backward.h"
#include "engine/train/attention_train.h"
#include "engine/train/cross_entropy.h"
#include "engine/train/dropout.h"
#include "tests/engine/train/grad_check.h"

using namespace bb;
using bbtest::expect_gradient;
using bbtest::numeric_gradient;
using bbtest::random_vector;
using bbtest::to_float;
using Vec = std::vector<double>;

namespace {

void expect_forward(const std::string& what, const std::vector<float>& got, const Vec& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << what << " forward element " << i;
}

// ----------------------------------------------------------------------------------------- linear

Vec linear_ref(const Vec& x, const Vec& W, const Vec& b, int M, int K, int N) {
  Vec y(size_t(M * N));
  for (int i = 0; i < M; ++i)
    for (int n = 0; n < N; ++n) {
      double s = b.empty() ? 0.0 : b[size_t(n)];
      for (int k = 0; k < K; ++k) s += x[size_t(i * K + k)] * W[size_t(n * K + k)];
      y[size_t(i * N + n)] = s;
    }
  return y;
}

TEST(OpGradients, Linear) {
  const int M = 5, K = 7, N = 6;
  const Vec x = random_vector(M * K, 1), W = random_vector(N * K, 2), b = random_vector(N, 3),
            w = random_vector(M * N, 4);
  std::vector<float> xf = to_float(x), Wf = to_float(W), bf = to_float(b), dy = to_float(w);
  std::vector<float> y(M * N);
  ops::linear(xf.data(), M, K, Wf.data(), N, bf.data(), y.data());
  expect_forward("linear", y, linear_ref(x, W, b, M, K, N), 1e-5);

  std::vector<float> dx(M * K, 9.0f), dW(N * K, 0.0f), db(N, 0.0f);
  ops::linear_backward(dy.data(), xf.data(), Wf.data(), M, K, N, dx.data(), dW.data(), db.data());
  expect_gradient("linear dx", dx,
                  numeric_gradient([&](const Vec& v) { return bbtest::dot(w, linear_ref(v, W, b, M, K, N)); }, x));
  expect_gradient("linear dW", dW,
                  numeric_gradient([&](const Vec& v) { return bbtest::dot(w, linear_ref(x, v, b, M, K, N)); }, W));
  expect_gradient("linear db", db,
                  numeric_gradient([&](const Vec& v) { return bbtest::dot(w, linear_ref(x, W, v, M, K, N)); }, b));

  // Parameter gradients accumulate; dx accumulates on request.
  std::vector<float> dx2 = dx, dW2 = dW, db2 = db;
  ops::linear_backward(dy.data(), xf.data(), Wf.data(), M, K, N, dx2.data(), dW2.data(), db2.data(), true);
  for (int i = 0; i < M * K; ++i) EXPECT_FLOAT_EQ(dx2[i], 2 * dx[i]);
  for (int i = 0; i < N * K; ++i) EXPECT_FLOAT_EQ(dW2[i], 2 * dW[i]);
  for (int i = 0; i < N; ++i) EXPECT_FLOAT_EQ(db2[i], 2 * db[i]);
}

// ------------------------------------------------------------------------------------- layer norm

Vec layer_norm_ref(const Vec& x, const Vec& g, const Vec& b, int rows, int cols, double eps) {
  Vec y(x.size());
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < cols; ++i) mean += x[size_t(r * cols + i)];
    mean /= cols;
    for (int i = 0; i < cols; ++i) var += (x[size_t(r * cols + i)] - mean) * (x[size_t(r * cols + i)] - mean);
    var /= cols;
    for (int i = 0; i < cols; ++i)
      y[size_t(r * cols + i)] = (x[size_t(r * cols + i)] - mean) / std::sqrt(var + eps) * g[size_t(i)] + b[size_t(i)];
  }
  return y;
}

TEST(OpGradients, LayerNorm) {
  const int rows = 70, cols = 9;  // > 2 row chunks, so the chunked parameter sums are exercised
  const double eps = 1e-12;
  const Vec x = random_vector(rows * cols, 5, -2, 2), g = random_vector(cols, 6, 0.5, 1.5), b = random_vector(cols, 7);
  const Vec w = random_vector(rows * cols, 8);
  std::vector<float> xf = to_float(x), gf = to_float(g), bf = to_float(b), dy = to_float(w), y(rows * cols);
  ops::layer_norm(xf.data(), gf.data(), bf.data(), y.data(), rows, cols, float(eps));
  expect_forward("layer_norm", y, layer_norm_ref(x, g, b, rows, cols, eps), 1e-5);

  std::vector<float> dx(rows * cols), dg(cols, 0.0f), db(cols, 0.0f);
  ops::layer_norm_backward(dy.data(), xf.data(), gf.data(), float(eps), rows, cols, dx.data(), dg.data(), db.data());
  auto f = [&](const Vec& xx, const Vec& gg, const Vec& bb) {
    return bbtest::dot(w, layer_norm_ref(xx, gg, bb, rows, cols, eps));
  };
  expect_gradient("layer_norm dx", dx, numeric_gradient([&](const Vec& v) { return f(v, g, b); }, x));
  expect_gradient("layer_norm dgamma", dg, numeric_gradient([&](const Vec& v) { return f(x, v, b); }, g));
  expect_gradient("layer_norm dbeta", db, numeric_gradient([&](const Vec& v) { return f(x, g, v); }, b));

  // In place (dx aliasing dy) gives the same result.
  std::vector<float> inplace = dy, dg2(cols, 0.0f);
  ops::layer_norm_backward(inplace.data(), xf.data(), gf.data(), float(eps), rows, cols, inplace.data(), dg2.data(),
                           nullptr);
  for (int i = 0; i < rows * cols; ++i) EXPECT_EQ(inplace[i], dx[i]);
}

// ------------------------------------------------------------------------------------ activations

double act_ref(Activation a, double x) {
  switch (a) {
    case Activation::GeluNew:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case Activation::GeluFast:
      return 0.5 * x * (1 + std::tanh(x * 0.7978845608 * (1 + 0.044715 * x * x)));
    case Activation::Gelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::Relu:
      return x > 0 ? x : 0;
    case Activation::Tanh:
      return std::tanh(x);
  }
  return 0;
}

class ActivationGradient : public ::testing::TestWithParam<Activation> {};

TEST_P(ActivationGradient, MatchesFiniteDifferences) {
  const Activation a = GetParam();
  const int n = 200;
  Vec x = random_vector(n, 9, -4, 4);
  if (a == Activation::Relu)
    for (double& v : x)
      if (std::fabs(v) < 1e-3) v = 0.5;  // stay away from the kink
  const Vec w = random_vector(n, 10);
  std::vector<float> y = to_float(x);
  ops::activation(a, y.data(), n);
  Vec ref(n);
  for (int i = 0; i < n; ++i) ref[size_t(i)] = act_ref(a, x[size_t(i)]);
  expect_forward(to_string(a), y, ref, 2e-6);
  std::vector<float> xf = to_float(x), dx = to_float(w);
  ops::activation_backward(a, xf.data(), dx.data(), dx.data(), n);  // in place
  expect_gradient(to_string(a) + " dx", dx,
                  numeric_gradient(
                      [&](const Vec& v) {
                        double s = 0;
                        for (int i = 0; i < n; ++i) s += w[size_t(i)] * act_ref(a, v[size_t(i)]);
                        return s;
                      },
                      x),
                  2e-5);
}

INSTANTIATE_TEST_SUITE_P(All, ActivationGradient,
                         ::testing::Values(Activation::GeluNew, Activation::GeluFast, Activation::Gelu,
                                           Activation::Relu, Activation::Tanh),
                         [](const auto& info) { return to_string(info.param); });

// ---------------------------------------------------------------------------------------- softmax

TEST(OpGradients, Softmax) {
  const int rows = 4, n = 11, ld = 13;
  const Vec s = random_vector(rows * ld, 11, -3, 3), w = random_vector(rows * ld, 12);
  auto ref = [&](const Vec& v) {
    double total = 0;
    for (int r = 0; r < rows; ++r) {
      double mx = -1e300, sum = 0;
      for (int i = 0; i < n; ++i) mx = std::max(mx, v[size_t(r * ld + i)]);
      for (int i = 0; i < n; ++i) sum += std::exp(v[size_t(r * ld + i)] - mx);
      for (int i = 0; i < n; ++i) total += w[size_t(r * ld + i)] * std::exp(v[size_t(r * ld + i)] - mx) / sum;
    }
    return total;
  };
  std::vector<float> P = to_float(s), dP = to_float(w);
  ops::softmax_rows(P.data(), rows, n, ld);
  std::vector<float> dS(rows * ld, 0.0f);
  ops::softmax_rows_backward(P.data(), dP.data(), dS.data(), rows, n, ld);
  Vec num = numeric_gradient(ref, s);
  for (int r = 0; r < rows; ++r)
    for (int i = n; i < ld; ++i) {
      dS[size_t(r * ld + i)] = 0.0f;  // columns beyond n are not part of the rows
      num[size_t(r * ld + i)] = 0.0;
    }
  expect_gradient("softmax dS", dS, num);
}

// -------------------------------------------------------------------------------------- embedding

TEST(OpGradients, EmbeddingScatterAddWithDuplicatesAndPadding) {
  const int V = 6, H = 70, rows = 9;                             // H > one column panel
  const std::vector<int64_t> ids = {3, 1, 3, 0, 5, 3, 0, 2, 1};  // duplicates; 0 = padding_idx
  const Vec table = random_vector(V * H, 13), w = random_vector(rows * H, 14);
  auto f = [&](const Vec& t) {
    double s = 0;
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < H; ++i) s += w[size_t(r * H + i)] * t[size_t(ids[size_t(r)] * H + i)];
    return s;
  };
  Vec num = numeric_gradient(f, table);
  for (int i = 0; i < H; ++i) num[size_t(i)] = 0.0;  // torch: no gradient for padding_idx
  std::vector<float> dy = to_float(w), dt(V * H, 0.0f);
  ops::embedding_backward(dy.data(), ids.data(), rows, H, dt.data(), 0);
  expect_gradient("embedding dtable", dt, num);

  // Positions: row r uses position r % period.
  std::vector<float> dp(4 * H, 0.0f);
  ops::embedding_backward(dy.data(), nullptr, 8, H, dp.data(), -1, 4);
  for (int p = 0; p < 4; ++p)
    for (int i = 0; i < H; ++i)
      EXPECT_FLOAT_EQ(dp[size_t(p * H + i)], dy[size_t(p * H + i)] + dy[size_t((p + 4) * H + i)]);
}

// ---------------------------------------------------------------------------------- cross entropy

TEST(OpGradients, CrossEntropyIgnoresMinus100) {
  const int rows = 6, C = 5;
  const std::vector<int64_t> t = {2, -100, 4, 0, -100, 1};
  const Vec z = random_vector(rows * C, 15, -3, 3);
  auto ref = [&](const Vec& v) {
    double total = 0;
    int count = 0;
    for (int r = 0; r < rows; ++r) {
      if (t[size_t(r)] == -100) continue;
      double mx = -1e300, sum = 0;
      for (int c = 0; c < C; ++c) mx = std::max(mx, v[size_t(r * C + c)]);
      for (int c = 0; c < C; ++c) sum += std::exp(v[size_t(r * C + c)] - mx);
      total += mx + std::log(sum) - v[size_t(r * C + t[size_t(r)])];
      ++count;
    }
    return 0.7 * total / count;
  };
  std::vector<float> zf = to_float(z), dz(rows * C);
  const train::CrossEntropyResult res = train::cross_entropy(zf.data(), rows, C, t.data(), -100, dz.data(), 0.7f);
  EXPECT_EQ(res.count, 4);
  EXPECT_NEAR(0.7 * res.loss, ref(z), 1e-6);
  expect_gradient("cross_entropy dlogits", dz, numeric_gradient(ref, z));
  for (int c = 0; c < C; ++c) EXPECT_EQ(dz[size_t(C + c)], 0.0f);

  const std::vector<int64_t> bad = {7, 0, 0, 0, 0, 0};
  EXPECT_THROW(train::cross_entropy(zf.data(), rows, C, bad.data(), -100), Error);
}

// ---------------------------------------------------------------------------------------- dropout

TEST(OpGradients, DropoutIsSeededReproducibleAndItsOwnBackward) {
  const int n = 100000;
  const float p = 0.1f;
  const uint64_t key = train::dropout_key(42, 7, 3);
  std::vector<float> a(n, 1.0f), b(n, 1.0f);
  train::dropout_forward(a.data(), n, p, key);
  train::dropout_forward(b.data(), n, p, key);
  EXPECT_EQ(a, b) << "same key, same mask";
  int dropped = 0;
  for (float v : a) {
    if (v == 0.0f)
      ++dropped;
    else
      EXPECT_FLOAT_EQ(v, 1.0f / 0.9f);
  }
  EXPECT_NEAR(double(dropped) / n, p, 0.005);
  // An offset continues the same stream: elements [500, n) of a stream = the stream from offset 500.
  std::vector<float> tail(n - 500, 1.0f);
  train::dropout_forward(tail.data(), n - 500, p, key, 500);
  for (int i = 0; i < n - 500; ++i) ASSERT_EQ(tail[size_t(i)], a[size_t(i + 500)]);
  // Another key gives another mask.
  std::vector<float> c(n, 1.0f);
  train::dropout_forward(c.data(), n, p, train::dropout_key(42, 7, 4));
  EXPECT_NE(a, c);
  // Backward: the same mask and scale applied to the gradient.
  const Vec g = random_vector(n, 16);
  std::vector<float> dg = to_float(g);
  train::dropout_backward(dg.data(), n, p, key);
  for (int i = 0; i < n; ++i) ASSERT_FLOAT_EQ(dg[size_t(i)], float(g[size_t(i)]) * a[size_t(i)]);
}

// -------------------------------------------------------------------------------------- attention

struct AttnShape {
  int L, heads, d;
};

// fp64 reference of one batch row of attention. Sparse: per query block, one softmax over the key
// blocks the pattern lists (duplicates kept), -10000 on padded keys, padded query rows zero.
Vec attention_ref(const Vec& q, const Vec& k, const Vec& v, const AttnShape& s, const std::vector<float>& mask,
                  attn::AttentionType type, const attn::BlockPattern* pattern, float dropout, uint64_t key) {
  const int L = s.L, H = s.heads * s.d, d = s.d;
  const double scale = 1.0 / std::sqrt(double(d));
  Vec ctx(size_t(L * H), 0.0);
  for (int h = 0; h < s.heads; ++h)
    for (int i = 0; i < L; ++i) {
      std::vector<int> cols;
      std::vector<double> bias;
      if (type == attn::AttentionType::BlockSparse) {
        const int b = pattern->block();
        for (const attn::KeyBlock& kb : pattern->key_blocks(h, i / b))
          for (int t = 0; t < b; ++t) {
            cols.push_back(kb.block * b + t);
            bias.push_back(mask[size_t(kb.block * b + t)] == 0.0f ? -10000.0 : 0.0);
          }
      } else {
        for (int j = 0; j < L; ++j) {
          cols.push_back(j);
          double pen = 0.0;
          if (mask[size_t(j)] == 0.0f)
            pen = type == attn::AttentionType::OriginalFull ? double(std::numeric_limits<float>::lowest()) : -10000.0;
          if (type == attn::AttentionType::SimulatedSparse) {
            const int b = pattern->block(), nb = pattern->num_blocks();
            const int m = pattern->multiplicity(h)[size_t((i / b) * nb + j / b)];
            pen += m == 0 ? -10000.0 : std::log(double(m));
          }
          bias.push_back(pen);
        }
      }
      std::vector<double> sc(cols.size());
      double mx = -1e300;
      for (size_t c = 0; c < cols.size(); ++c) {
        double dotp = 0;
        for (int t = 0; t < d; ++t) dotp += q[size_t(i * H + h * d + t)] * k[size_t(cols[c] * H + h * d + t)];
        sc[c] = dotp * scale + bias[c];
        mx = std::max(mx, sc[c]);
      }
      double sum = 0;
      for (double& x : sc) sum += (x = std::exp(x - mx));
      for (size_t c = 0; c < cols.size(); ++c) {
        double pr = sc[c] / sum;
        if (dropout > 0.0f) {
          const uint64_t idx = (uint64_t(h) * L + uint64_t(i)) * L + uint64_t(cols[c]);
          pr = train::dropout_uniform(key, idx) >= dropout ? pr / (1.0 - dropout) : 0.0;
        }
        for (int t = 0; t < d; ++t) ctx[size_t(i * H + h * d + t)] += pr * v[size_t(cols[c] * H + h * d + t)];
      }
      const bool zero_row = type != attn::AttentionType::OriginalFull && mask[size_t(i)] == 0.0f;
      if (zero_row)
        for (int t = 0; t < d; ++t) ctx[size_t(i * H + h * d + t)] = 0.0;
    }
  return ctx;
}

void check_attention(attn::AttentionType type, const attn::BlockPattern* pattern, const AttnShape& s,
                     const std::vector<float>& mask, float dropout = 0.0f) {
  const int n = s.L * s.heads * s.d;
  const Vec q = random_vector(n, 21), k = random_vector(n, 22), v = random_vector(n, 23), w = random_vector(n, 24);
  const uint64_t key = train::dropout_key(5, 6);
  std::vector<float> qf = to_float(q), kf = to_float(k), vf = to_float(v), ctx(n);
  train::AttentionTrainArgs a;
  a.q = qf.data();
  a.k = kf.data();
  a.v = vf.data();
  a.ld = s.heads * s.d;
  a.len = s.L;
  a.heads = s.heads;
  a.head_dim = s.d;
  a.mask = mask.data();
  a.type = type;
  a.pattern = pattern;
  a.dropout = dropout;
  a.dropout_key = key;
  train::attention_train_forward(a, ctx.data());
  expect_forward(attn::to_string(type) + " attention", ctx,
                 attention_ref(q, k, v, s, mask, type, pattern, dropout, key), 1e-5);

  std::vector<float> dctx = to_float(w), dq(n), dk(n), dv(n);
  train::attention_backward(a, dctx.data(), dq.data(), dk.data(), dv.data());
  auto f = [&](const Vec& qq, const Vec& kk, const Vec& vv) {
    return bbtest::dot(w, attention_ref(qq, kk, vv, s, mask, type, pattern, dropout, key));
  };
  const std::string name = attn::to_string(type) + (dropout > 0 ? " (dropout)" : "");
  expect_gradient(name + " dq", dq, numeric_gradient([&](const Vec& x) { return f(x, k, v); }, q));
  expect_gradient(name + " dk", dk, numeric_gradient([&](const Vec& x) { return f(q, x, v); }, k));
  expect_gradient(name + " dv", dv, numeric_gradient([&](const Vec& x) { return f(q, k, x); }, v));
}

// 8 blocks of 4 tokens, 2 heads, r = 2. Head 0's random blocks repeat window and global blocks and
// each other (so keys appear twice or three times in one softmax); head 1 has ordinary ones.
attn::BlockPattern duplicate_heavy_pattern() {
  attn::RandomTable t;
  t.heads = 2;
  t.rows = 6;
  t.r = 2;
  t.index = {/*head 0*/ 0, 0, 2, 2, 2, 7, 3, 3, 5, 4, 6, 6,
             /*head 1*/ 3, 5, 4, 6, 5, 1, 1, 6, 2, 1, 3, 2};
  return attn::BlockPattern(32, 4, 2, 2, t);
}

TEST(OpGradients, BlockSparseAttentionWithDuplicatesAndPadding) {
  const attn::BlockPattern p = duplicate_heavy_pattern();
  std::vector<float> mask(32, 1.0f);
  for (int i = 27; i < 32; ++i) mask[size_t(i)] = 0.0f;  // padding: the last (global) block partly, and block 6
  check_attention(attn::AttentionType::BlockSparse, &p, {32, 2, 3}, mask);
}

TEST(OpGradients, BlockSparseAttentionHFEvalTables) {
  // HF >= 4.30 eval: every random block is block 0 (block 0 three times in one softmax).
  attn::TableParams tp;
  tp.seq_len = 40;
  tp.block = 4;
  tp.num_random = 2;
  tp.heads = 2;
  tp.mode = attn::RandomBlocks::HFEval;
  const attn::BlockPattern p(40, 4, 2, 2, attn::random_block_table(tp));
  check_attention(attn::AttentionType::BlockSparse, &p, {40, 2, 3}, std::vector<float>(40, 1.0f));
}

TEST(OpGradients, FullAttentionWithKeyMask) {
  std::vector<float> mask(20, 1.0f);
  mask[3] = mask[17] = mask[18] = mask[19] = 0.0f;
  check_attention(attn::AttentionType::OriginalFull, nullptr, {20, 2, 3}, mask);
}

TEST(OpGradients, FullAttentionWithProbabilityDropout) {
  std::vector<float> mask(70, 1.0f);  // 70 > one 64-row query chunk
  mask[69] = 0.0f;
  check_attention(attn::AttentionType::OriginalFull, nullptr, {70, 2, 2}, mask, 0.2f);
}

TEST(OpGradients, SimulatedSparseAttention) {
  const attn::BlockPattern p = duplicate_heavy_pattern();
  std::vector<float> mask(32, 1.0f);
  mask[30] = mask[31] = 0.0f;
  check_attention(attn::AttentionType::SimulatedSparse, &p, {32, 2, 3}, mask);
}

}  // namespace
