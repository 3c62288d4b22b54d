#pragma once
// The compute kernels as SPIR-V words, compiled from shaders/*.comp by glslc at build time and
// linked into the static library bigbird_shaders. Only engine/backend/vulkan reads them.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace bb::shaders {

struct Blob {
  const char* name;       // e.g. "gemm", "gemm_f16", "attention_block_sparse"
  const uint32_t* words;  // SPIR-V module
  size_t word_count;
};

std::span<const Blob> all();
const Blob* find(std::string_view name);  // nullptr when unknown

}  // namespace bb::shaders
