#pragma once
// The BigBird-Pegasus pre-LN encoder (bigbird-spec.md §2.2, §3, §4.2), as HF's BigBirdPegasusEncoder
// computes it: x = sqrt(d)·E[ids] + Pos[0..L-1]; block_sparse needs a block multiple, so the batch is
// padded with the *unscaled* pad-token embedding (no position) and mask 0, and the output cut back;
// per layer x += Wo·Attn(LN(x)), x += W2·act(W1·LN(x)); finally LN_final(x).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"
#include "engine/backend/backend.h"
#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/models/pegasus_weights.h"

namespace bb {

struct PegasusEncodeOptions {
  std::optional<attn::AttentionType> attention_type;  // default: the config's (HF fallback for short inputs)
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFEval;  // HF >= 4.30 model.eval(), as generate() runs
  attn::CaptureRequest capture;
  std::function<void(int layer, int layers)> on_layer;  // progress: called after each layer
  backend::Kind backend = backend::Kind::Cpu;  // PegasusModel::encode: cpu | vulkan | auto (engine/backend)
  std::string device;                          // Vulkan device: "" best, an index or a name substring
};

struct PegasusEncoding {
  Tensor hidden;  // [batch, len, D] after the final LayerNorm, unpadded
  Tensor mask;    // [batch, len] 1 real / 0 padding (what cross-attention masks with)
  attn::AttentionDecision decision;
  std::vector<attn::RandomTable> random_tables;             // per layer (sparse only)
  std::vector<std::vector<attn::AttentionMap>> attentions;  // [captured layer][batch]
  std::vector<int> captured_layers;
  std::string backend = "cpu";  // what ran: "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)"
};

// ids [batch, len] (validated by the caller), mask [batch, len] floats 0/1.
PegasusEncoding run_pegasus_encoder(const PegasusWeights& w, const ModelConfig& c, const int64_t* ids,
                                    const float* mask, int64_t batch, int64_t len, const PegasusEncodeOptions& opt);

// Adds y to x elementwise over the engine's pool.
void add_inplace(float* x, const float* y, int64_t n);

}  // namespace bb
