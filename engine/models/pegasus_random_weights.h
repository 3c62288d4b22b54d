#pragma once
// Randomly initialised BigBird-Pegasus models of published shapes, for benchmarks and for tests that
// need a model but no checkpoint (HF names, fp32; matrices and embeddings uniform with std 0.02,
// LayerNorm 1/0, biases and final_logits_bias 0). Deterministic per seed and per tensor, so a
// benchmark can stream a 2.3 GB model to disk one tensor at a time.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

// "pegasus-large" (google/bigbird-pegasus-large-*: 16+16 layers, d 1024, vocab 96103, 4096 positions)
// or "pegasus-tiny" (same vocabulary, positions and block size; d 32, 2+2 layers: for tests).
ModelConfig pegasus_shape_config(const std::string& shape);

// Every parameter of BigBirdPegasusForConditionalGeneration as HF saves it (tied copies left out).
std::vector<std::pair<std::string, Shape>> pegasus_parameter_shapes(const ModelConfig& c);
Tensor random_pegasus_tensor(const std::string& name, const Shape& shape, uint64_t seed);
ParameterStore random_pegasus_parameters(const ModelConfig& c, uint64_t seed);

}  // namespace bb
