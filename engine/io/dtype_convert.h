#pragma once
// Element conversions shared by the checkpoint readers: stored bytes (any alignment,
// little-endian) of a floating dtype -> fp32, and in-place byte swapping for big-endian files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/io/safetensors.h"  // DType

namespace bb::io {

// F32, F16, BF16 or F64 -> fp32 (F64 rounds to nearest, beyond the fp32 range +-inf as torch's
// .float()). Any other dtype is a bb::Error "<what>: is I64; ...".
void convert_to_f32(DType dtype, const uint8_t* src, int64_t n, float* out, const std::string& what);

void byteswap_elements(uint8_t* data, size_t count, size_t itemsize);

}  // namespace bb::io
