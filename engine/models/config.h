#pragma once
// HF config.json for BigBird (BigBirdConfig) and BigBird-Pegasus (BigBirdPegasusConfig),
// validated: a missing or malformed key is a bb::Error naming the file and the key.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/attention/plan.h"

namespace bb {

enum class Activation { GeluNew, GeluFast, Gelu, Relu, Tanh };
Activation parse_activation(const std::string& s);  // gelu_new|gelu_fast|gelu_pytorch_tanh|gelu|relu|tanh
std::string to_string(Activation a);

enum class ModelFamily { BigBird, BigBirdPegasus };

struct ModelConfig {
  ModelFamily family = ModelFamily::BigBird;
  std::string model_type = "big_bird";  // or "bigbird_pegasus"
  std::vector<std::string> architectures;  // e.g. BigBirdForMaskedLM

  int64_t vocab_size = 50358;
  int64_t hidden_size = 768;      // d_model for Pegasus
  int num_hidden_layers = 12;     // encoder_layers for Pegasus
  int num_attention_heads = 12;   // encoder_attention_heads for Pegasus
  int64_t intermediate_size = 3072;  // encoder_ffn_dim for Pegasus
  Activation hidden_act = Activation::GeluNew;
  int64_t max_position_embeddings = 4096;
  int64_t type_vocab_size = 2;    // 0 for Pegasus
  double layer_norm_eps = 1e-12;  // Pegasus: 1e-5 (nn.LayerNorm default)
  bool use_bias = true;
  bool rescale_embeddings = false;  // Pegasus: scale_embedding
  attn::AttentionType attention_type = attn::AttentionType::BlockSparse;
  int block_size = 64;
  int num_random_blocks = 3;
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1;  // -1 = null in config.json

  int64_t pad_token_id = 0, bos_token_id = 1, eos_token_id = 2, sep_token_id = 66;
  int64_t decoder_start_token_id = 2;
  bool tie_word_embeddings = true;

  // Pegasus decoder (ignored for BigBird)
  int decoder_layers = 0;
  int decoder_attention_heads = 0;
  int64_t decoder_ffn_dim = 0;

  // Classification labels (id2label), empty unless the checkpoint has a classifier head.
  std::map<int, std::string> id2label;
  int num_labels() const { return id2label.empty() ? 2 : int(id2label.size()); }

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

ModelConfig parse_config_json(const std::string& json_text, const std::string& label);  // throws bb::Error
ModelConfig load_config(const std::string& path);  // path to config.json
std::string config_to_json(const ModelConfig& c);  // HF-compatible config.json text

}  // namespace bb
