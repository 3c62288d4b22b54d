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
// gelu_new|gelu_fast|gelu_pytorch_tanh|gelu|relu|tanh; gelu_pytorch_tanh is the same tanh-GELU as
// gelu_new and maps to GeluNew. Throws bb::Error listing the accepted names.
Activation parse_activation(const std::string& s);
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
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1;  // Pegasus: dropout, attention_dropout
  double classifier_dropout = -1;  // -1 = null in config.json
  double activation_dropout = 0.0;   // Pegasus only
  double initializer_range = 0.02;   // Pegasus: init_std

  // -1 = null / absent (Pegasus has no sep_token_id, BigBird no decoder_start_token_id).
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

  // Keys of config.json that are not modelled above (torch_dtype, transformers_version, label2id,
  // generation settings such as num_beams / length_penalty / max_length, layerdrop, ...): key ->
  // the value as JSON text. config_to_json writes them back unchanged.
  std::map<std::string, std::string> extra;
};

// The defaults of HF's BigBirdConfig / BigBirdPegasusConfig (what a key absent from config.json means).
// Use this rather than ModelConfig{} for Pegasus.
ModelConfig hf_default_config(ModelFamily family);

// Parses and validates (positive sizes, hidden divisible by heads, known activation and attention
// type, block_size > 0, token ids inside the vocabulary, id2label keys 0..N-1, no duplicate keys).
// Every error is one line "<label>: key "<key>": <reason>".
ModelConfig parse_config_json(const std::string& json_text, const std::string& label);  // throws bb::Error
ModelConfig load_config(const std::string& path);  // path to config.json
// HF-compatible config.json text: HF's own layout (indent 2, sorted keys, ASCII, trailing newline),
// with the family's key names (d_model, encoder_layers, ... for Pegasus) and `extra` kept.
std::string config_to_json(const ModelConfig& c);

}  // namespace bb
