#pragma once
// Helpers to compare engine outputs with the HF goldens in tests/data/hf-golden.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/core/tensor.h"

namespace bbtest {

inline std::string data_path(const std::string& rel) { return std::string(BIGBIRD_TEST_DATA) + "/" + rel; }

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

struct Diff {
  double max_abs = 0.0;
  int64_t worst = -1;
};

inline Diff max_abs_diff(const float* a, const float* b, int64_t n) {
  Diff d;
  for (int64_t i = 0; i < n; ++i) {
    const double e = std::fabs(double(a[i]) - double(b[i]));
    if (!(e <= d.max_abs)) {  // also catches NaN
      d.max_abs = std::isnan(e) ? INFINITY : e;
      d.worst = i;
    }
  }
  return d;
}

// Asserts same shape and max |a-b| <= tol; reports the worst element.
inline void expect_close(const std::string& what, const bb::Tensor& got, const bb::Tensor& want, double tol) {
  ASSERT_EQ(bb::shape_to_string(got.shape()), bb::shape_to_string(want.shape())) << what;
  Diff d = max_abs_diff(got.data(), want.data(), got.numel());
  EXPECT_LE(d.max_abs, tol) << what << ": max |diff| " << d.max_abs << " at flat index " << d.worst << " (got "
                            << (d.worst >= 0 ? got[d.worst] : 0) << ", want " << (d.worst >= 0 ? want[d.worst] : 0)
                            << ")";
  std::printf("  %-28s max|diff| = %.3g\n", what.c_str(), d.max_abs);
}

}  // namespace bbtest
