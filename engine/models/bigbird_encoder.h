#pragma once
// The BigBird-RoBERTa / KoBigBird post-LN encoder stack (bigbird-spec.md §2.1, §3, §4.1):
// embeddings (word + token type + position, LayerNorm), then per layer
// x1 = LN(x + Wo·Attn(x)), y = LN(x1 + W2·act(W1·x1)).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"
#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

struct BigBirdLayerWeights {
  const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;  // [H,H] (PyTorch layout), [H]
  const float *o_w, *o_b, *ln1_g, *ln1_b;
  const float *ff1_w, *ff1_b, *ff2_w, *ff2_b;       // [I,H], [I], [H,I], [H]
  const float *ln2_g, *ln2_b;
};

struct BigBirdEncoderWeights {
  const float *word, *position, *token_type;  // [V,H], [P,H], [T,H]
  const float *emb_ln_g, *emb_ln_b;
  std::vector<BigBirdLayerWeights> layers;
};

// Binds "<prefix>embeddings.*" and "<prefix>encoder.layer.N.*"; throws naming the tensor on a
// missing name or a wrong shape.
BigBirdEncoderWeights bind_bigbird_encoder(const ParameterStore& p, const ModelConfig& c, const std::string& prefix);

// One encoder pass over a batch that is already padded to `len` (a block multiple when sparse).
struct EncoderPass {
  const int64_t* input_ids = nullptr;       // [batch, len]
  const int64_t* token_type_ids = nullptr;  // [batch, len]
  const float* mask = nullptr;              // [batch, len] 1 real / 0 padding
  int64_t batch = 0, len = 0;
  attn::AttentionDecision decision;
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
  bool keep_hidden_states = false;
  attn::CaptureRequest capture;
  // Called after each layer (progress; throwing aborts the pass). `captured` is that layer's
  // capture when it was requested, else null; the callback may move the maps out to bound memory.
  using LayerCallback = std::function<void(int layer, int num_layers, std::vector<attn::AttentionMap>* captured)>;
  LayerCallback on_layer_done;
};

struct EncoderResult {
  Tensor hidden;                              // [batch, len, H]
  std::vector<Tensor> hidden_states;          // embeddings output, then each layer's output
  std::vector<std::vector<attn::AttentionMap>> attentions;  // [layer][batch] for captured layers
  std::vector<attn::RandomTable> random_tables;             // per layer (sparse only)
};

EncoderResult run_bigbird_encoder(const BigBirdEncoderWeights& w, const ModelConfig& c, const EncoderPass& pass);

}  // namespace bb
