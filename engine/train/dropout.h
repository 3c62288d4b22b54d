#pragma once
// Inverted dropout (torch semantics: kept values scaled by 1/(1-p)) with a counter-based mask:
// element i of a stream is kept iff hash(key, i) >= p. The mask depends only on (key, i), never on
// threads or call order, so a recomputed forward (gradient checkpointing) and the backward replay it
// exactly, and a resumed run draws the same masks as the uninterrupted one.
#include <cstdint>

namespace bb::train {

// A stream key from the run seed and a tuple naming the draw (step, micro-batch, layer, site, ...).
uint64_t dropout_key(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0);

// Uniform in [0, 1) for element `index` of stream `key` (24-bit resolution).
float dropout_uniform(uint64_t key, uint64_t index);

// x[i] = keep ? x[i] / (1 - p) : 0 for i in [0, n); element i uses stream index offset + i.
void dropout_forward(float* x, int64_t n, float p, uint64_t key, uint64_t offset = 0);
// The same mask and scale applied to a gradient.
inline void dropout_backward(float* dx, int64_t n, float p, uint64_t key, uint64_t offset = 0) {
  dropout_forward(dx, n, p, key, offset);
}

}  // namespace bb::train
