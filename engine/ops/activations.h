#pragma once
// Activation functions, in place over n contiguous floats (parallel over chunks).
#include <cstdint>

#include "engine/models/config.h"

namespace bb::ops {

void gelu_new(float* x, int64_t n);   // 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))) — HF gelu_new / TF gelu
void gelu_fast(float* x, int64_t n);  // same function, HF's op order
void gelu_exact(float* x, int64_t n); // 0.5x(1+erf(x/sqrt2))
void relu(float* x, int64_t n);
void tanh_inplace(float* x, int64_t n);
void activation(Activation a, float* x, int64_t n);

}  // namespace bb::ops
