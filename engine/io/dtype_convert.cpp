#include "engine/io/dtype_convert.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/core/error.h"
#include "engine/io/half_float.h"

namespace bb::io {

namespace {

template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + size_t(i) * sizeof(T), sizeof(T));
  return v;
}

float narrow_f64(double d) {
  constexpr double kOverflow = 0x1.ffffffp127;  // FLT_MAX + half an ulp: ties round to inf
  if (std::isfinite(d) && std::fabs(d) >= kOverflow)
    return d > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

}  // namespace

void convert_to_f32(DType dtype, const uint8_t* p, int64_t n, float* o, const std::string& what) {
  switch (dtype) {
    case DType::F32:
      if (n > 0) std::memcpy(o, p, size_t(n) * 4);
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) o[i] = f16_to_f32(load<uint16_t>(p, i));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) o[i] = bf16_to_f32(load<uint16_t>(p, i));
      return;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) o[i] = narrow_f64(load<double>(p, i));
      return;
    default:
      throw Error(what + ": is " + dtype_name(dtype) + "; a float read needs F32, F16, BF16 or F64");
  }
}

void byteswap_elements(uint8_t* data, size_t count, size_t itemsize) {
  if (itemsize <= 1) return;
  for (size_t i = 0; i < count; ++i) {
    uint8_t* e = data + i * itemsize;
    for (size_t a = 0, b = itemsize - 1; a < b; ++a, --b) std::swap(e[a], e[b]);
  }
}

}  // namespace bb::io
