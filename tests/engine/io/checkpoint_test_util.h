#pragma once
// Helpers for the checkpoint-reader tests: fixture paths, expected.json, element decoding.
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/half_float.h"
#include "engine/io/safetensors.h"

namespace bb::testing {

inline std::string checkpoint_data(const std::string& rel) { return std::string(BIGBIRD_TEST_DATA) + "/checkpoints/" + rel; }

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Every element as a double (exact for all dtypes the fixtures use, int64 up to 2^53).
inline std::vector<double> decode_values(io::DType dtype, const std::vector<uint8_t>& bytes) {
  std::vector<double> out;
  const size_t size = io::dtype_size(dtype);
  for (size_t i = 0; i + size <= bytes.size(); i += size) {
    const uint8_t* p = bytes.data() + i;
    auto get = [&](auto v) {
      std::memcpy(&v, p, sizeof v);
      return v;
    };
    switch (dtype) {
      case io::DType::F32: out.push_back(get(float())); break;
      case io::DType::F64: out.push_back(get(double())); break;
      case io::DType::F16: out.push_back(io::f16_to_f32(get(uint16_t()))); break;
      case io::DType::BF16: out.push_back(io::bf16_to_f32(get(uint16_t()))); break;
      case io::DType::I64: out.push_back(double(get(int64_t()))); break;
      case io::DType::I32: out.push_back(get(int32_t())); break;
      case io::DType::I16: out.push_back(get(int16_t())); break;
      case io::DType::I8: out.push_back(get(int8_t())); break;
      case io::DType::U8: out.push_back(get(uint8_t())); break;
      case io::DType::U16: out.push_back(get(uint16_t())); break;
      case io::DType::U32: out.push_back(get(uint32_t())); break;
      case io::DType::U64: out.push_back(double(get(uint64_t()))); break;
      case io::DType::BOOL: out.push_back(get(uint8_t())); break;
    }
  }
  return out;
}

inline std::string torch_dtype_name(io::DType d) {
  switch (d) {
    case io::DType::F32: return "float32";
    case io::DType::F64: return "float64";
    case io::DType::F16: return "float16";
    case io::DType::BF16: return "bfloat16";
    case io::DType::I64: return "int64";
    case io::DType::I32: return "int32";
    case io::DType::I16: return "int16";
    case io::DType::I8: return "int8";
    case io::DType::U8: return "uint8";
    case io::DType::BOOL: return "bool";
    default: return io::dtype_name(d);
  }
}

}  // namespace bb::testing
