#pragma once
// BigBird-Pegasus parameters bound by HF name (bigbird-spec.md §1.2, §8.3): one shared word
// embedding (encoder input, decoder input, LM head), learned position tables for encoder and decoder,
// pre-LN encoder/decoder layers (q/k/v/out without bias unless use_bias), final stack LayerNorms
// (HF calls them layernorm_embedding) and final_logits_bias.
#include <string>
#include <vector>

#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

struct PegasusEncoderLayerWeights {
  const float *ln_self_g, *ln_self_b;        // self_attn_layer_norm
  const float *q_w, *k_w, *v_w, *o_w;        // [D,D] PyTorch layout
  const float *q_b, *k_b, *v_b, *o_b;        // [D] or null (use_bias false)
  const float *ln_ffn_g, *ln_ffn_b;          // final_layer_norm
  const float *fc1_w, *fc1_b, *fc2_w, *fc2_b;  // [F,D], [F], [D,F], [D]
};

struct PegasusDecoderLayerWeights {
  const float *ln_self_g, *ln_self_b;
  const float *sq_w, *sk_w, *sv_w, *so_w;    // causal self-attention
  const float *sq_b, *sk_b, *sv_b, *so_b;
  const float *ln_cross_g, *ln_cross_b;      // encoder_attn_layer_norm
  const float *cq_w, *ck_w, *cv_w, *co_w;    // cross-attention
  const float *cq_b, *ck_b, *cv_b, *co_b;
  const float *ln_ffn_g, *ln_ffn_b;
  const float *fc1_w, *fc1_b, *fc2_w, *fc2_b;
};

struct PegasusWeights {
  const float* shared = nullptr;           // [V,D] word embeddings = LM head
  const float* lm_head = nullptr;          // [V,D]; == shared unless the checkpoint unties it
  const float* final_logits_bias = nullptr;  // [V]
  const float *enc_pos = nullptr, *dec_pos = nullptr;  // [max_position_embeddings, D]
  const float *enc_ln_g = nullptr, *enc_ln_b = nullptr;  // model.encoder.layernorm_embedding
  const float *dec_ln_g = nullptr, *dec_ln_b = nullptr;  // model.decoder.layernorm_embedding
  std::vector<PegasusEncoderLayerWeights> encoder;
  std::vector<PegasusDecoderLayerWeights> decoder;
};

// Binds the HF names of BigBirdPegasusForConditionalGeneration. Tied tensors may be absent as in HF's
// save_pretrained (lm_head.weight, model.{encoder,decoder}.embed_tokens.weight = model.shared.weight);
// a missing final_logits_bias is added as zeros (HF registers it as a zero buffer). Adds those
// tensors to `p` when needed, so `p` must outlive the weights. Throws naming a missing/mis-shaped tensor.
PegasusWeights bind_pegasus(ParameterStore& p, const ModelConfig& c);

}  // namespace bb
