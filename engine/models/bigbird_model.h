#pragma once
// BigBird-RoBERTa / KoBigBird with its heads, as HF's BigBirdModel / BigBirdForMaskedLM /
// BigBirdForSequenceClassification / BigBirdForQuestionAnswering compute it: inputs are padded to
// a block multiple for block_sparse (pad id, mask 0, type 0, positions continue) and outputs cut
// back; short inputs fall back to full attention (decided per call, never sticky).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/attention/attention_map.h"
#include "engine/attention/plan.h"
#include "engine/backend/backend.h"
#include "engine/core/tensor.h"
#include "engine/models/bigbird_encoder.h"
#include "engine/models/bigbird_heads.h"
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

namespace backend {
class EncoderBackend;
}

struct EncoderInputs {
  I64Tensor input_ids;       // [batch, len]
  I64Tensor attention_mask;  // [batch, len] or empty (= all ones)
  I64Tensor token_type_ids;  // [batch, len] or empty (= zeros; QA derives them from the question)
};

struct EncoderOptions {
  std::optional<attn::AttentionType> attention_type;  // default: the config's
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
  Head head = Head::None;
  bool output_hidden_states = false;
  attn::CaptureRequest capture;
  std::vector<int64_t> mlm_rows;  // flattened (batch*len) positions to score; empty = all
  EncoderPass::LayerCallback on_layer_done;  // progress / cancel / streaming capture (see EncoderPass)
  backend::Kind backend = backend::Kind::Cpu;  // cpu | vulkan | auto (engine/backend/backend.h)
  std::string device;                          // Vulkan device: "" best, an index or a name substring
};

struct EncoderOutputs {
  Tensor last_hidden_state;  // [batch, len, H] (unpadded length)
  Tensor pooler_output;      // [batch, H] when the checkpoint has a pooler
  Tensor logits;             // MLM [batch, len, V] (or [rows, V] with mlm_rows); cls [batch, C]
  Tensor start_logits, end_logits;  // QA [batch, len]
  I64Tensor token_type_ids;  // as fed to the embeddings (unpadded)
  std::vector<Tensor> hidden_states;  // HF output_hidden_states: [batch, padded len, H] each
  std::vector<std::vector<attn::AttentionMap>> attentions;  // [captured layer][batch]
  std::vector<int> captured_layers;
  std::vector<attn::RandomTable> random_tables;  // per layer, sparse only
  attn::AttentionDecision decision;
  std::string backend;  // what ran: "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)"
};

class BigBirdModel {
 public:
  BigBirdModel(ModelConfig config, ParameterStore params);
  // A directory with config.json and model.safetensors (HF layout).
  static BigBirdModel load(const std::string& dir);

  const ModelConfig& config() const { return config_; }
  const ParameterStore& parameters() const { return params_; }
  const std::string& prefix() const { return prefix_; }  // "bert." or ""
  bool has_head(Head h) const;
  bool has_pooler() const;

  EncoderOutputs forward(const EncoderInputs& inputs, const EncoderOptions& options) const;

 private:
  ModelConfig config_;
  ParameterStore params_;
  std::string prefix_;
  BigBirdEncoderWeights weights_;
  std::shared_ptr<backend::EncoderBackend> backend_;  // device-side weights (Vulkan), shared by copies
};

// Checks ids/mask/types against the config; throws a one-line bb::Error naming the problem.
void validate_encoder_inputs(const EncoderInputs& in, const ModelConfig& c);

}  // namespace bb
