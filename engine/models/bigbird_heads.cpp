#include "engine/models/bigbird_heads.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb {

Head parse_head(const std::string& s) {
  if (s == "none") return Head::None;
  if (s == "mlm") return Head::MaskedLM;
  if (s == "cls") return Head::SequenceClassification;
  if (s == "qa") return Head::QuestionAnswering;
  throw Error("unknown head '" + s + "' (expected none, mlm, cls or qa)");
}

std::string to_string(Head h) {
  switch (h) {
    case Head::None: return "none";
    case Head::MaskedLM: return "mlm";
    case Head::SequenceClassification: return "cls";
    case Head::QuestionAnswering: return "qa";
  }
  return "?";
}

namespace {
// [batch, H] copy of the first token of every row of hidden [batch, len, H].
Tensor first_tokens(const Tensor& hidden) {
  const int64_t B = hidden.dim(0), L = hidden.dim(1), H = hidden.dim(2);
  Tensor out = Tensor::uninitialized({B, H});
  for (int64_t b = 0; b < B; ++b) std::copy_n(hidden.data() + b * L * H, H, out.data() + b * H);
  return out;
}
}  // namespace

Tensor pooler_forward(const ParameterStore& p, const std::string& prefix, const Tensor& hidden) {
  const int64_t B = hidden.dim(0), H = hidden.dim(2);
  Tensor cls = first_tokens(hidden);
  Tensor out = Tensor::uninitialized({B, H});
  ops::linear(cls.data(), B, H, p.get(prefix + "pooler.weight", {H, H}).data(), H,
              p.get(prefix + "pooler.bias", {H}).data(), out.data());
  ops::tanh_inplace(out.data(), out.numel());
  return out;
}

Tensor mlm_logits(const ParameterStore& p, const ModelConfig& c, const std::string& prefix, const Tensor& hidden,
                  const std::vector<int64_t>& rows) {
  const int64_t H = c.hidden_size, V = c.vocab_size;
  const int64_t total = hidden.dim(0) * hidden.dim(1);
  Tensor h;
  if (rows.empty()) {
    h = hidden.clone().reshaped({total, H});
  } else {
    h = Tensor::uninitialized({int64_t(rows.size()), H});
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i] < 0 || rows[i] >= total) throw Error("MLM position " + std::to_string(rows[i]) + " out of range");
      std::copy_n(hidden.data() + rows[i] * H, H, h.data() + int64_t(i) * H);
    }
  }
  const int64_t n = h.dim(0);
  Tensor t = Tensor::uninitialized({n, H});
  ops::linear(h.data(), n, H, p.get("cls.predictions.transform.dense.weight", {H, H}).data(), H,
              p.get("cls.predictions.transform.dense.bias", {H}).data(), t.data());
  ops::activation(c.hidden_act, t.data(), t.numel());
  ops::layer_norm(t.data(), p.get("cls.predictions.transform.LayerNorm.weight", {H}).data(),
                  p.get("cls.predictions.transform.LayerNorm.bias", {H}).data(), t.data(), n, H,
                  float(c.layer_norm_eps));
  const Tensor& decoder = p.has("cls.predictions.decoder.weight")
                              ? p.get("cls.predictions.decoder.weight", {V, H})
                              : p.get(prefix + "embeddings.word_embeddings.weight", {V, H});
  Tensor logits = Tensor::uninitialized({n, V});
  ops::linear(t.data(), n, H, decoder.data(), V, p.get("cls.predictions.bias", {V}).data(), logits.data());
  return logits;
}

Tensor classification_logits(const ParameterStore& p, const ModelConfig& c, const Tensor& hidden) {
  const int64_t B = hidden.dim(0), H = c.hidden_size;
  const Tensor& out_w = p.get("classifier.out_proj.weight");
  if (out_w.rank() != 2 || out_w.dim(1) != H)
    throw Error("tensor 'classifier.out_proj.weight' has shape " + shape_to_string(out_w.shape()) + ", expected [C," +
                std::to_string(H) + "]");
  const int64_t C = out_w.dim(0);
  Tensor cls = first_tokens(hidden);
  Tensor x = Tensor::uninitialized({B, H});
  ops::linear(cls.data(), B, H, p.get("classifier.dense.weight", {H, H}).data(), H,
              p.get("classifier.dense.bias", {H}).data(), x.data());
  ops::activation(c.hidden_act, x.data(), x.numel());
  Tensor logits = Tensor::uninitialized({B, C});
  ops::linear(x.data(), B, H, out_w.data(), C, p.get("classifier.out_proj.bias", {C}).data(), logits.data());
  return logits;
}

Tensor qa_logits(const ParameterStore& p, const ModelConfig& c, const Tensor& hidden) {
  const int64_t B = hidden.dim(0), L = hidden.dim(1), H = c.hidden_size, I = c.intermediate_size;
  const int64_t n = B * L;
  Tensor inter = Tensor::uninitialized({n, I});
  ops::linear(hidden.data(), n, H, p.get("qa_classifier.intermediate.dense.weight", {I, H}).data(), I,
              p.get("qa_classifier.intermediate.dense.bias", {I}).data(), inter.data());
  ops::activation(c.hidden_act, inter.data(), inter.numel());
  Tensor x = Tensor::uninitialized({n, H});
  ops::linear(inter.data(), n, I, p.get("qa_classifier.output.dense.weight", {H, I}).data(), H,
              p.get("qa_classifier.output.dense.bias", {H}).data(), x.data());
  for (int64_t i = 0; i < n * H; ++i) x[i] += hidden[i];
  ops::layer_norm(x.data(), p.get("qa_classifier.output.LayerNorm.weight", {H}).data(),
                  p.get("qa_classifier.output.LayerNorm.bias", {H}).data(), x.data(), n, H, float(c.layer_norm_eps));
  Tensor logits = Tensor::uninitialized({B, L, 2});
  ops::linear(x.data(), n, H, p.get("qa_classifier.qa_outputs.weight", {2, H}).data(), 2,
              p.get("qa_classifier.qa_outputs.bias", {2}).data(), logits.data());
  return logits;
}

std::vector<int64_t> question_lengths(const int64_t* input_ids, int64_t batch, int64_t len, int64_t sep_token_id) {
  std::vector<int64_t> out(size_t(batch), 1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < len; ++t)
      if (input_ids[b * len + t] == sep_token_id) {
        out[size_t(b)] = t + 1;
        break;
      }
  return out;
}

}  // namespace bb
