// CPU kernels against naive double-precision references (odd shapes included).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/fast_math.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace {

std::vector<float> random_vec(size_t n, float scale, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace

TEST(Linear, MatchesNaiveForManyShapes) {
  struct S { int64_t M, K, N; bool bias; };
  for (S s : {S{1, 1, 1, true}, S{3, 5, 7, false}, S{17, 33, 9, true}, S{130, 64, 3, true}, S{2, 100, 257, true},
              S{257, 31, 129, false}}) {
    auto x = random_vec(size_t(s.M * s.K), 1.0f, 1), w = random_vec(size_t(s.N * s.K), 1.0f, 2),
         b = random_vec(size_t(s.N), 1.0f, 3);
    std::vector<float> y(size_t(s.M * s.N), -7.0f);
    bb::ops::linear(x.data(), s.M, s.K, w.data(), s.N, s.bias ? b.data() : nullptr, y.data());
    double worst = 0;
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) {
        double ref = s.bias ? b[size_t(j)] : 0.0;
        for (int64_t k = 0; k < s.K; ++k) ref += double(x[size_t(i * s.K + k)]) * w[size_t(j * s.K + k)];
        worst = std::max(worst, std::fabs(ref - y[size_t(i * s.N + j)]));
      }
    EXPECT_LT(worst, 1e-4) << s.M << "x" << s.K << "x" << s.N;
  }
}

TEST(Linear, StridedOutputLeavesOtherColumnsAlone) {
  auto x = random_vec(6 * 4, 1.0f, 4), w = random_vec(3 * 4, 1.0f, 5);
  std::vector<float> y(6 * 8, 99.0f);
  bb::ops::linear(x.data(), 6, 4, w.data(), 3, nullptr, y.data() + 2, 0, 8);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 8; ++j) {
      if (j >= 2 && j < 5) {
        double ref = 0;
        for (int k = 0; k < 4; ++k) ref += double(x[size_t(i * 4 + k)]) * w[size_t((j - 2) * 4 + k)];
        EXPECT_NEAR(y[size_t(i * 8 + j)], ref, 1e-5);
      } else {
        EXPECT_EQ(y[size_t(i * 8 + j)], 99.0f);
      }
    }
}

TEST(LayerNorm, MatchesNaiveIncludingLargeOffsets) {
  for (int64_t cols : {1, 7, 64, 768}) {
    const int64_t rows = 9;
    auto x = random_vec(size_t(rows * cols), 3.0f, 6);
    for (int64_t i = 0; i < cols; ++i) x[size_t(i)] += 1000.0f;  // first row far from zero
    auto g = random_vec(size_t(cols), 1.0f, 7), b = random_vec(size_t(cols), 1.0f, 8);
    std::vector<float> y(x.size());
    bb::ops::layer_norm(x.data(), g.data(), b.data(), y.data(), rows, cols, 1e-12f);
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < cols; ++i) mean += x[size_t(r * cols + i)];
      mean /= double(cols);
      for (int64_t i = 0; i < cols; ++i) var += std::pow(x[size_t(r * cols + i)] - mean, 2);
      var /= double(cols);
      for (int64_t i = 0; i < cols; ++i) {
        const double ref = (x[size_t(r * cols + i)] - mean) / std::sqrt(var + 1e-12) * g[size_t(i)] + b[size_t(i)];
        EXPECT_NEAR(y[size_t(r * cols + i)], ref, 2e-4 * (1 + std::fabs(ref))) << cols << " " << r << " " << i;
      }
    }
  }
}

TEST(Softmax, MatchesNaiveWithMaskedAndHugeValues) {
  std::vector<float> row = {1.0f, -10000.0f, 3.0f, 88.0f, 87.5f, -3.4e38f, 0.0f};
  std::vector<float> ref(row.size());
  double mx = -1e300, sum = 0;
  for (float v : row) mx = std::max(mx, double(v));
  for (size_t i = 0; i < row.size(); ++i) sum += (ref[i] = float(std::exp(double(row[i]) - mx)));
  bb::ops::softmax_rows(row.data(), 1, int64_t(row.size()), int64_t(row.size()));
  double total = 0;
  for (size_t i = 0; i < row.size(); ++i) {
    EXPECT_NEAR(row[i], ref[i] / sum, 1e-6);
    total += row[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
}

TEST(FastMath, ExpAndTanhAccuracy) {
  double worst_exp = 0, worst_tanh = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    worst_exp = std::max(worst_exp, std::fabs(bb::fast::exp(x) / std::exp(double(x)) - 1.0));
  }
  for (float x = -20.0f; x <= 20.0f; x += 0.00071f)
    worst_tanh = std::max(worst_tanh, std::fabs(double(bb::fast::tanh(x)) - std::tanh(double(x))));
  EXPECT_LT(worst_exp, 3e-7);   // about 2 ulp
  EXPECT_LT(worst_tanh, 2e-7);  // absolute
  EXPECT_EQ(bb::fast::exp(-1e30f) >= 0.0f, true);
  EXPECT_EQ(bb::fast::tanh(1e30f), 1.0f);
  EXPECT_EQ(bb::fast::tanh(-1e30f), -1.0f);
}

TEST(Activations, MatchDefinitions) {
  auto x = random_vec(100003, 3.0f, 9);  // odd length crosses the parallel chunking
  const double k = std::sqrt(2.0 / M_PI);
  for (auto act : {bb::Activation::GeluNew, bb::Activation::GeluFast, bb::Activation::Gelu, bb::Activation::Relu,
                   bb::Activation::Tanh}) {
    std::vector<float> y = x;
    bb::ops::activation(act, y.data(), int64_t(y.size()));
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      double ref = 0;
      switch (act) {
        case bb::Activation::GeluNew:
        case bb::Activation::GeluFast: ref = 0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v))); break;
        case bb::Activation::Gelu: ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); break;
        case bb::Activation::Relu: ref = v > 0 ? v : 0; break;
        case bb::Activation::Tanh: ref = std::tanh(v); break;
      }
      worst = std::max(worst, std::fabs(ref - y[i]));
    }
    EXPECT_LT(worst, 2e-6) << bb::to_string(act);
  }
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnceAndPropagatesErrors) {
  bb::set_num_threads(2);
  std::vector<int> hits(10007, 0);
  bb::parallel_for(0, 10007, [&](int64_t i) { hits[size_t(i)]++; }, 13);
  for (int h : hits) ASSERT_EQ(h, 1);
  // Nested regions run inline instead of deadlocking.
  std::atomic<int> inner{0};
  bb::parallel_for(0, 4, [&](int64_t) { bb::parallel_for(0, 5, [&](int64_t) { inner++; }); });
  EXPECT_EQ(inner.load(), 20);
  EXPECT_THROW(bb::parallel_for(0, 100, [](int64_t i) { if (i == 57) throw std::runtime_error("boom"); }),
               std::runtime_error);
  // The pool still works after an exception.
  std::atomic<int> after{0};
  bb::parallel_for(0, 100, [&](int64_t) { after++; });
  EXPECT_EQ(after.load(), 100);
}
