#pragma once
// A BigBird-RoBERTa / KoBigBird model being trained: its parameters (owned, writable), one gradient
// tensor per parameter with the same HF name and shape, and raw pointers into both for the kernels.
// The MLM decoder is tied to the word embeddings (and its bias to cls.predictions.bias), as HF ties
// them: one tensor, one gradient that receives both contributions. A head missing from the checkpoint
// (classification / QA on top of an MLM or base checkpoint) is initialised as HF does: N(0, σ)
// matrices with σ = initializer_range, zero biases, LayerNorm 1 / 0.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/models/bigbird_encoder.h"
#include "engine/models/bigbird_heads.h"
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb::train {

// Writable pointers into the gradient store, laid out like BigBirdLayerWeights.
struct LayerGrads {
  float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;
  float *o_w, *o_b, *ln1_g, *ln1_b;
  float *ff1_w, *ff1_b, *ff2_w, *ff2_b;
  float *ln2_g, *ln2_b;
};
struct EncoderGrads {
  float *word, *position, *token_type, *emb_ln_g, *emb_ln_b;
  std::vector<LayerGrads> layers;
};

// Head parameters (nullptr where the head has no such tensor).
struct HeadWeights {
  // MLM: transform dense + LayerNorm, decoder [V,H] (tied: the word embeddings), decoder bias [V]
  const float *mlm_dense_w = nullptr, *mlm_dense_b = nullptr, *mlm_ln_g = nullptr, *mlm_ln_b = nullptr;
  const float *mlm_decoder_w = nullptr, *mlm_decoder_b = nullptr;
  // Classification (HF BigBirdClassificationHead): dense [H,H], out_proj [C,H]
  const float *cls_dense_w = nullptr, *cls_dense_b = nullptr, *cls_out_w = nullptr, *cls_out_b = nullptr;
  // QA (HF BigBirdForQuestionAnsweringHead): intermediate [I,H], output [H,I] + LayerNorm, qa_outputs [2,H]
  const float *qa_inter_w = nullptr, *qa_inter_b = nullptr, *qa_out_w = nullptr, *qa_out_b = nullptr;
  const float *qa_ln_g = nullptr, *qa_ln_b = nullptr, *qa_outputs_w = nullptr, *qa_outputs_b = nullptr;
};
struct HeadGrads {
  float *mlm_dense_w = nullptr, *mlm_dense_b = nullptr, *mlm_ln_g = nullptr, *mlm_ln_b = nullptr;
  float *mlm_decoder_w = nullptr, *mlm_decoder_b = nullptr;
  float *cls_dense_w = nullptr, *cls_dense_b = nullptr, *cls_out_w = nullptr, *cls_out_b = nullptr;
  float *qa_inter_w = nullptr, *qa_inter_b = nullptr, *qa_out_w = nullptr, *qa_out_b = nullptr;
  float *qa_ln_g = nullptr, *qa_ln_b = nullptr, *qa_outputs_w = nullptr, *qa_outputs_b = nullptr;
};

class TrainableBigBird {
 public:
  // Takes the parameters of a checkpoint (any BigBird head or none). Initialises the parameters of
  // `head` that are missing with `init_seed`; for classification the config's id2label gives the
  // number of labels. Throws bb::Error for Pegasus configs and mismatched head shapes.
  TrainableBigBird(ModelConfig config, ParameterStore params, Head head, uint64_t init_seed = 42);
  // With allow_fresh, a directory holding only config.json starts from HF-style random weights
  // (std 0.02 as random_bigbird_mlm_parameters, LayerNorm 1 / 0, zero biases, zero padding row):
  // pre-training from scratch.
  static TrainableBigBird load(const std::string& dir, Head head, uint64_t init_seed = 42,
                               const std::map<int, std::string>& id2label = {}, bool allow_fresh = false);
  // HF-style random weights for `config` (as load() with allow_fresh on a config-only directory);
  // `source` names them in errors.
  static TrainableBigBird fresh(ModelConfig config, Head head, uint64_t init_seed, const std::string& source);

  TrainableBigBird(TrainableBigBird&&) = default;
  TrainableBigBird& operator=(TrainableBigBird&&) = default;

  const ModelConfig& config() const { return config_; }
  Head head() const { return head_; }
  const std::string& prefix() const { return prefix_; }
  int num_labels() const { return num_labels_; }

  ParameterStore& params() { return params_; }
  const ParameterStore& params() const { return params_; }
  ParameterStore& grads() { return grads_; }
  const ParameterStore& grads() const { return grads_; }
  // Names the head's loss reaches (the pooler is not used by HF's MLM / cls / QA heads: its
  // gradient stays zero and optimizers leave it untouched, as torch skips parameters without grad).
  const std::set<std::string>& unused_parameters() const { return unused_; }

  const BigBirdEncoderWeights& weights() const { return weights_; }
  const EncoderGrads& encoder_grads() const { return encoder_grads_; }
  const HeadWeights& head_weights() const { return head_weights_; }
  const HeadGrads& head_grads() const { return head_grads_; }

  void zero_grads();
  // The model as HF from_pretrained loads it: config.json (architectures, id2label) + model.safetensors
  // (tied duplicates left out, as HF writes them). Both written atomically.
  void save_pretrained(const std::string& dir) const;
  std::string architecture() const;

 private:
  void bind();

  ModelConfig config_;
  Head head_;
  std::string prefix_;
  int num_labels_ = 0;
  ParameterStore params_, grads_;
  std::set<std::string> unused_;
  BigBirdEncoderWeights weights_;
  EncoderGrads encoder_grads_{};
  HeadWeights head_weights_;
  HeadGrads head_grads_;
};

}  // namespace bb::train
