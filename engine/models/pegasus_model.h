#pragma once
// BigBird-Pegasus (HF BigBirdPegasusForConditionalGeneration): a block-sparse pre-LN encoder, a full-
// attention pre-LN decoder with an incremental KV cache, and the tied LM head with final_logits_bias.
// Loads HF layouts (model.safetensors with HF names, tied tensors absent) and checkpoints stored under
// the original TF variable names (pegasus/...).
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/models/parameters.h"
#include "engine/models/pegasus_decoder.h"
#include "engine/models/pegasus_encoder.h"
#include "engine/models/pegasus_weights.h"

namespace bb {

namespace backend {
class PegasusEncoderBackend;
class PegasusDecoderBackend;
}

struct Seq2SeqInputs {
  I64Tensor input_ids;               // [batch, len]
  I64Tensor attention_mask;          // [batch, len] or empty (= all ones)
  I64Tensor decoder_input_ids;       // [batch, dec_len] or empty (= input_ids shifted right, as HF)
  I64Tensor decoder_attention_mask;  // [batch, dec_len] or empty (= all ones)
};

struct Seq2SeqOutputs {
  Tensor logits;  // [batch, dec_len, V]
  PegasusEncoding encoder;
};

class PegasusModel {
 public:
  PegasusModel(ModelConfig config, ParameterStore params);
  // A directory with config.json and the weights (model.safetensors or model-*-of-*.safetensors).
  static PegasusModel load(const std::string& dir);

  const ModelConfig& config() const { return config_; }
  const ParameterStore& parameters() const { return params_; }
  const PegasusWeights& weights() const { return weights_; }

  // input_ids [batch, len] and optional mask; validates ids, mask values and length.
  PegasusEncoding encode(const I64Tensor& input_ids, const I64Tensor& attention_mask,
                         const PegasusEncodeOptions& opt = {}) const;
  // Decoder rows reading encoder rows `row_source` (beams share one encoder row), room for `capacity` tokens.
  PegasusCache start_decoder(const PegasusEncoding& enc, std::vector<int32_t> row_source, int64_t capacity) const;
  Tensor decode(PegasusCache& cache, const int64_t* ids, int64_t count, const float* token_mask, bool all_positions,
                CrossAttentionCapture* capture = nullptr) const;

  // Opens decoding sessions on a backend (engine/backend/pegasus_decoder_backend.h: CPU or Vulkan
  // with fallback); holds the device-side decoder weights, shared by copies of this model.
  backend::PegasusDecoderBackend& decoder_backend() const { return *decoder_backend_; }

  // Drops the encoder-only weights (encoder layers, positions, final LayerNorm) from this process's
  // resident memory where they are memory-mapped from the checkpoint: decoding never reads them, and
  // the next encode() faults them back in from the OS page cache. Lowers peak memory while decoding;
  // weights held in owned buffers (converted or random) are left alone.
  void release_encoder_weights() const;

  // Teacher-forced forward pass (HF model(input_ids, attention_mask, decoder_input_ids, ...)).
  Seq2SeqOutputs forward(const Seq2SeqInputs& in, const PegasusEncodeOptions& opt = {}) const;

 private:
  ModelConfig config_;
  ParameterStore params_;
  PegasusWeights weights_;
  std::shared_ptr<backend::PegasusEncoderBackend> encoder_backend_;  // device-side encoder weights, shared by copies
  std::shared_ptr<backend::PegasusDecoderBackend> decoder_backend_;  // device-side decoder weights, shared by copies
};

// HF shift_tokens_right: [start, ids[0..n-2]] per row, with -100 replaced by pad.
I64Tensor shift_tokens_right(const I64Tensor& ids, int64_t pad_token_id, int64_t decoder_start_token_id);

}  // namespace bb
