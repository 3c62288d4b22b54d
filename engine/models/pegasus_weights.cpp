#include "engine/models/pegasus_weights.h"

#include "engine/core/error.h"

namespace bb {

namespace {

const float* opt_bias(const ParameterStore& p, const std::string& name, int64_t n, bool required) {
  if (!required && !p.has(name)) return nullptr;
  return p.get(name, {n}).data();
}

// A tied tensor: the first name present (HF drops duplicates on save).
const float* first_present(const ParameterStore& p, const std::vector<std::string>& names, const Shape& shape) {
  for (const std::string& n : names)
    if (p.has(n)) return p.get(n, shape).data();
  throw Error(p.source() + ": missing tensor '" + names.front() + "' (BigBird-Pegasus word embeddings)");
}

}  // namespace

PegasusWeights bind_pegasus(ParameterStore& p, const ModelConfig& c) {
  if (c.family != ModelFamily::BigBirdPegasus)
    throw Error(p.source() + ": config is " + c.model_type + ", not bigbird_pegasus");
  const int64_t D = c.hidden_size, V = c.vocab_size, P = c.max_position_embeddings;
  const int64_t Fe = c.intermediate_size, Fd = c.decoder_ffn_dim;
  if (!p.has("final_logits_bias")) p.set("final_logits_bias", Tensor({1, V}));

  PegasusWeights w;
  w.shared = first_present(p, {"model.shared.weight", "model.encoder.embed_tokens.weight", "lm_head.weight"}, {V, D});
  w.lm_head = (!c.tie_word_embeddings && p.has("lm_head.weight")) ? p.get("lm_head.weight", {V, D}).data() : w.shared;
  w.final_logits_bias = p.get("final_logits_bias", {1, V}).data();
  w.enc_pos = p.get("model.encoder.embed_positions.weight", {P, D}).data();
  w.dec_pos = p.get("model.decoder.embed_positions.weight", {P, D}).data();
  w.enc_ln_g = p.get("model.encoder.layernorm_embedding.weight", {D}).data();
  w.enc_ln_b = p.get("model.encoder.layernorm_embedding.bias", {D}).data();
  w.dec_ln_g = p.get("model.decoder.layernorm_embedding.weight", {D}).data();
  w.dec_ln_b = p.get("model.decoder.layernorm_embedding.bias", {D}).data();
  const bool bias = c.use_bias;

  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string n = "model.encoder.layers." + std::to_string(l) + ".";
    PegasusEncoderLayerWeights L{};
    L.ln_self_g = p.get(n + "self_attn_layer_norm.weight", {D}).data();
    L.ln_self_b = p.get(n + "self_attn_layer_norm.bias", {D}).data();
    L.q_w = p.get(n + "self_attn.self.query.weight", {D, D}).data();
    L.k_w = p.get(n + "self_attn.self.key.weight", {D, D}).data();
    L.v_w = p.get(n + "self_attn.self.value.weight", {D, D}).data();
    L.o_w = p.get(n + "self_attn.output.weight", {D, D}).data();
    L.q_b = opt_bias(p, n + "self_attn.self.query.bias", D, bias);
    L.k_b = opt_bias(p, n + "self_attn.self.key.bias", D, bias);
    L.v_b = opt_bias(p, n + "self_attn.self.value.bias", D, bias);
    L.o_b = opt_bias(p, n + "self_attn.output.bias", D, bias);
    L.ln_ffn_g = p.get(n + "final_layer_norm.weight", {D}).data();
    L.ln_ffn_b = p.get(n + "final_layer_norm.bias", {D}).data();
    L.fc1_w = p.get(n + "fc1.weight", {Fe, D}).data();
    L.fc1_b = p.get(n + "fc1.bias", {Fe}).data();
    L.fc2_w = p.get(n + "fc2.weight", {D, Fe}).data();
    L.fc2_b = p.get(n + "fc2.bias", {D}).data();
    w.encoder.push_back(L);
  }
  for (int l = 0; l < c.decoder_layers; ++l) {
    const std::string n = "model.decoder.layers." + std::to_string(l) + ".";
    PegasusDecoderLayerWeights L{};
    L.ln_self_g = p.get(n + "self_attn_layer_norm.weight", {D}).data();
    L.ln_self_b = p.get(n + "self_attn_layer_norm.bias", {D}).data();
    L.sq_w = p.get(n + "self_attn.q_proj.weight", {D, D}).data();
    L.sk_w = p.get(n + "self_attn.k_proj.weight", {D, D}).data();
    L.sv_w = p.get(n + "self_attn.v_proj.weight", {D, D}).data();
    L.so_w = p.get(n + "self_attn.out_proj.weight", {D, D}).data();
    L.sq_b = opt_bias(p, n + "self_attn.q_proj.bias", D, bias);
    L.sk_b = opt_bias(p, n + "self_attn.k_proj.bias", D, bias);
    L.sv_b = opt_bias(p, n + "self_attn.v_proj.bias", D, bias);
    L.so_b = opt_bias(p, n + "self_attn.out_proj.bias", D, bias);
    L.ln_cross_g = p.get(n + "encoder_attn_layer_norm.weight", {D}).data();
    L.ln_cross_b = p.get(n + "encoder_attn_layer_norm.bias", {D}).data();
    L.cq_w = p.get(n + "encoder_attn.q_proj.weight", {D, D}).data();
    L.ck_w = p.get(n + "encoder_attn.k_proj.weight", {D, D}).data();
    L.cv_w = p.get(n + "encoder_attn.v_proj.weight", {D, D}).data();
    L.co_w = p.get(n + "encoder_attn.out_proj.weight", {D, D}).data();
    L.cq_b = opt_bias(p, n + "encoder_attn.q_proj.bias", D, bias);
    L.ck_b = opt_bias(p, n + "encoder_attn.k_proj.bias", D, bias);
    L.cv_b = opt_bias(p, n + "encoder_attn.v_proj.bias", D, bias);
    L.co_b = opt_bias(p, n + "encoder_attn.out_proj.bias", D, bias);
    L.ln_ffn_g = p.get(n + "final_layer_norm.weight", {D}).data();
    L.ln_ffn_b = p.get(n + "final_layer_norm.bias", {D}).data();
    L.fc1_w = p.get(n + "fc1.weight", {Fd, D}).data();
    L.fc1_b = p.get(n + "fc1.bias", {Fd}).data();
    L.fc2_w = p.get(n + "fc2.weight", {D, Fd}).data();
    L.fc2_b = p.get(n + "fc2.bias", {D}).data();
    w.decoder.push_back(L);
  }
  return w;
}

}  // namespace bb
