#pragma once
// Backward of the activations in activations.h: dx = f'(x) * dy, from the saved pre-activation x.
// dx may alias dy (n contiguous floats, parallel over chunks).
#include <cstdint>

#include "engine/models/config.h"

namespace bb::ops {

void gelu_new_backward(const float* x, const float* dy, float* dx, int64_t n);  // also gelu_fast (same function)
void gelu_exact_backward(const float* x, const float* dy, float* dx, int64_t n);
void relu_backward(const float* x, const float* dy, float* dx, int64_t n);
void tanh_backward(const float* x, const float* dy, float* dx, int64_t n);
void activation_backward(Activation a, const float* x, const float* dy, float* dx, int64_t n);

}  // namespace bb::ops
