#pragma once
// What every kernel check (vk_kernel_checks, vk_train_checks) is built from: seeded inputs, the
// normalised max error against the CPU op, the forced-corruption hook and the Check record.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_kernel_checks.h"

namespace bb::vk::checks::util {

inline std::vector<float> randn(size_t n, float scale, uint32_t seed, float shift = 0.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g) + shift;
  return v;
}

// max |gpu - cpu| / max(1, max |cpu|); infinity for a size mismatch or a NaN.
inline double compare(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  if (gpu.size() != cpu.size()) return std::numeric_limits<double>::infinity();
  double worst = 0, scale = 1;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double e = std::fabs(double(gpu[i]) - double(cpu[i]));
    if (!(e <= worst)) worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
    scale = std::max(scale, std::fabs(double(cpu[i])));
  }
  return worst / scale;
}

// A forced mismatch (BIGBIRD_VK_FAULT=mismatch:<kernel>, tests): one element of the GPU result moved.
inline void perturb(std::vector<float>& v, bool corrupt) {
  if (corrupt && !v.empty()) v[v.size() / 2] += 1.0f + 0.5f * std::fabs(v[v.size() / 2]);
}

inline Check finish(const std::string& kernel, const std::string& shape, double error, double tolerance) {
  Check c;
  c.kernel = kernel;
  c.shape = shape;
  c.error = error;
  c.tolerance = tolerance;
  c.passed = error <= tolerance;
  return c;
}

inline std::string dims(std::initializer_list<int64_t> v) {
  std::string s;
  for (int64_t x : v) {
    if (!s.empty()) s += 'x';
    s += std::to_string(x);
  }
  return s;
}

}  // namespace bb::vk::checks::util
