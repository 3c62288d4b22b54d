#pragma once
// Randomly initialised models of the published shapes, for benchmarks and tests that need no
// checkpoint. Values are uniform with std 0.02 (LayerNorm weights 1, biases 0), deterministic per seed.
#include <cstdint>
#include <string>

#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

// "base" (bigbird-roberta-base), "large" (bigbird-roberta-large), "tiny" (the golden-test shape).
ModelConfig bigbird_shape_config(const std::string& shape);

// Every parameter of a BigBirdForMaskedLM with HF names ("bert." prefix, MLM head, pooler).
ParameterStore random_bigbird_mlm_parameters(const ModelConfig& c, uint64_t seed);

}  // namespace bb
