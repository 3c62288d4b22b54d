#pragma once
// Finite-difference helpers for the backward tests: fp64 reference functions on tiny shapes,
// central differences, and a relative comparison that reports the worst element.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace bbtest {

inline std::vector<double> random_vector(size_t n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(gen);
  return v;
}

inline std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// d f / d x by central differences of an fp64 scalar function, element by element.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// max |got - want| <= rtol * max(|want|) + atol, i.e. an error relative to the tensor's scale.
inline void expect_gradient(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
                            double rtol = 1e-4, double atol = 1e-6) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0.0, worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < want.size(); ++i) scale = std::max(scale, std::fabs(want[i]));
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]);
    if (!(e <= worst)) {
      worst = std::isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  EXPECT_LE(worst, rtol * scale + atol) << what << ": worst element " << at << " got " << got[at] << " want "
                                        << want[at] << " (scale " << scale << ")";
  EXPECT_GT(scale, 0.0) << what << ": reference gradient is all zero, the check proves nothing";
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace bbtest
