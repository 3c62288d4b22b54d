#include "engine/models/bigbird_model.h"

#include <algorithm>
#include <filesystem>

#include "engine/backend/encoder_backend.h"
#include "engine/core/error.h"
#include "engine/io/checkpoint_loader.h"
#include "engine/io/model_location.h"

namespace bb {

namespace {

std::string detect_prefix(const ParameterStore& p) {
  if (p.has("bert.embeddings.word_embeddings.weight")) return "bert.";
  if (p.has("embeddings.word_embeddings.weight")) return "";
  throw Error(p.source() + ": no BigBird embeddings found (expected 'bert.embeddings.word_embeddings.weight')");
}

}  // namespace

BigBirdModel::BigBirdModel(ModelConfig config, ParameterStore params)
    : config_(std::move(config)), params_(std::move(params)) {
  if (config_.family != ModelFamily::BigBird)
    throw Error("this is a " + config_.model_type + " checkpoint, not a BigBird encoder");
  prefix_ = detect_prefix(params_);
  weights_ = bind_bigbird_encoder(params_, config_, prefix_);
  backend_ = std::make_shared<backend::EncoderBackend>();
}

BigBirdModel BigBirdModel::load(const std::string& dir) {
  // A model directory (any checkpoint format) or "org/name[@rev]" in the Hugging Face cache.
  const io::ModelLocation loc = io::locate_model(dir);
  if (loc.config.empty()) throw Error(dir + ": no config.json next to the weights");
  ModelConfig config = load_config(loc.config);
  ParameterStore params = io::load_checkpoint(dir, config);
  return BigBirdModel(std::move(config), std::move(params));
}

bool BigBirdModel::has_head(Head h) const {
  switch (h) {
    case Head::None: return true;
    case Head::MaskedLM: return params_.has("cls.predictions.transform.dense.weight");
    case Head::SequenceClassification: return params_.has("classifier.out_proj.weight");
    case Head::QuestionAnswering: return params_.has("qa_classifier.qa_outputs.weight");
  }
  return false;
}

bool BigBirdModel::has_pooler() const { return params_.has(prefix_ + "pooler.weight"); }

void validate_encoder_inputs(const EncoderInputs& in, const ModelConfig& c) {
  const I64Tensor& ids = in.input_ids;
  if (ids.rank() != 2) throw Error("input_ids must be [batch, len], got " + shape_to_string(ids.shape()));
  if (ids.dim(0) == 0 || ids.dim(1) == 0) throw Error("empty input: input_ids has shape " + shape_to_string(ids.shape()));
  for (int64_t i = 0; i < ids.numel(); ++i)
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      throw Error("input_ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside the vocabulary (0.." +
                  std::to_string(c.vocab_size - 1) + ")");
  if (!in.attention_mask.empty()) {
    if (in.attention_mask.shape() != ids.shape())
      throw Error("attention_mask has shape " + shape_to_string(in.attention_mask.shape()) + ", input_ids " +
                  shape_to_string(ids.shape()));
    for (int64_t i = 0; i < in.attention_mask.numel(); ++i)
      if (in.attention_mask[i] != 0 && in.attention_mask[i] != 1)
        throw Error("attention_mask must hold 0 or 1, found " + std::to_string(in.attention_mask[i]));
  }
  if (!in.token_type_ids.empty()) {
    if (in.token_type_ids.shape() != ids.shape())
      throw Error("token_type_ids has shape " + shape_to_string(in.token_type_ids.shape()) + ", input_ids " +
                  shape_to_string(ids.shape()));
    for (int64_t i = 0; i < in.token_type_ids.numel(); ++i)
      if (in.token_type_ids[i] < 0 || in.token_type_ids[i] >= c.type_vocab_size)
        throw Error("token_type_ids must be in 0.." + std::to_string(c.type_vocab_size - 1) + ", found " +
                    std::to_string(in.token_type_ids[i]));
  }
}

EncoderOutputs BigBirdModel::forward(const EncoderInputs& in, const EncoderOptions& opt) const {
  validate_encoder_inputs(in, config_);
  if (!has_head(opt.head)) throw Error("this checkpoint has no " + to_string(opt.head) + " head");
  const ModelConfig& c = config_;
  const int64_t B = in.input_ids.dim(0), L = in.input_ids.dim(1), H = c.hidden_size;

  EncoderOutputs out;
  out.decision = attn::decide_attention(opt.attention_type.value_or(c.attention_type), L, c.block_size,
                                        c.num_random_blocks, opt.random_blocks);
  const int64_t P = out.decision.padded_len;
  if (P > c.max_position_embeddings)
    throw Error("input of " + std::to_string(L) + " tokens" + (P != L ? " (padded to " + std::to_string(P) + ")" : "") +
                " is longer than max_position_embeddings = " + std::to_string(c.max_position_embeddings));

  // Token types as HF feeds them; QA without explicit types marks the question with 0, the rest 1.
  I64Tensor types({B, L});
  std::vector<int64_t> qlen;
  if (opt.head == Head::QuestionAnswering) qlen = question_lengths(in.input_ids.data(), B, L, c.sep_token_id);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      const int64_t i = b * L + t;
      if (!in.token_type_ids.empty()) types[i] = in.token_type_ids[i];
      else if (!qlen.empty()) types[i] = t < qlen[size_t(b)] ? 0 : 1;
    }
  for (int64_t i = 0; i < types.numel(); ++i)
    if (types[i] >= c.type_vocab_size) throw Error("derived token type exceeds type_vocab_size");

  // Pad to P: pad id, mask 0, type 0; positions continue.
  I64Tensor ids({B, P}), ptypes({B, P});
  Tensor mask({B, P});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < P; ++t) {
      const int64_t dst = b * P + t, src = b * L + t;
      const bool real = t < L;
      ids[dst] = real ? in.input_ids[src] : c.pad_token_id;
      ptypes[dst] = real ? types[src] : 0;
      mask[dst] = real ? (in.attention_mask.empty() ? 1.0f : float(in.attention_mask[src])) : 0.0f;
    }

  EncoderPass pass;
  pass.input_ids = ids.data();
  pass.token_type_ids = ptypes.data();
  pass.mask = mask.data();
  pass.batch = B;
  pass.len = P;
  pass.decision = out.decision;
  pass.random_blocks = opt.random_blocks;
  pass.keep_hidden_states = opt.output_hidden_states;
  pass.capture = opt.capture;
  pass.on_layer_done = opt.on_layer_done;
  EncoderResult r = backend_->run({opt.backend, opt.device}, weights_, c, pass, &out.backend);

  if (P == L) {
    out.last_hidden_state = std::move(r.hidden);
  } else {
    out.last_hidden_state = Tensor::uninitialized({B, L, H});
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(r.hidden.data() + b * P * H, L * H, out.last_hidden_state.data() + b * L * H);
  }
  if (has_pooler()) out.pooler_output = pooler_forward(params_, prefix_, out.last_hidden_state);
  out.hidden_states = std::move(r.hidden_states);
  out.attentions = std::move(r.attentions);
  for (int l = 0; l < c.num_hidden_layers; ++l)
    if (opt.capture.wants(l)) out.captured_layers.push_back(l);
  out.random_tables = std::move(r.random_tables);
  out.token_type_ids = std::move(types);

  switch (opt.head) {
    case Head::None: break;
    case Head::MaskedLM: {
      Tensor logits = mlm_logits(params_, c, prefix_, out.last_hidden_state, opt.mlm_rows);
      out.logits = opt.mlm_rows.empty() ? std::move(logits).reshaped({B, L, c.vocab_size}) : std::move(logits);
      break;
    }
    case Head::SequenceClassification:
      out.logits = classification_logits(params_, c, out.last_hidden_state);
      break;
    case Head::QuestionAnswering: {
      Tensor lg = qa_logits(params_, c, out.last_hidden_state);
      out.start_logits = Tensor::uninitialized({B, L});
      out.end_logits = Tensor::uninitialized({B, L});
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < L; ++t) {
          // Question tokens (except [CLS]) are removed from the competition, as HF does.
          const float penalty = (t > 0 && t < qlen[size_t(b)]) ? 1e6f : 0.0f;
          out.start_logits[b * L + t] = lg[(b * L + t) * 2] - penalty;
          out.end_logits[b * L + t] = lg[(b * L + t) * 2 + 1] - penalty;
        }
      break;
    }
  }
  return out;
}

}  // namespace bb
