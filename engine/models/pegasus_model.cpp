#include "engine/models/pegasus_model.h"

#include <algorithm>

#include <sys/mman.h>
#include <unistd.h>

#include "engine/backend/pegasus_decoder_backend.h"
#include "engine/backend/pegasus_encoder_backend.h"
#include "engine/core/error.h"
#include "engine/io/checkpoint_loader.h"
#include "engine/io/model_location.h"

namespace bb {

namespace {

void check_ids(const I64Tensor& ids, const std::string& name, int64_t vocab) {
  if (ids.rank() != 2) throw Error(name + " must be [batch, len], got " + shape_to_string(ids.shape()));
  if (ids.dim(0) == 0 || ids.dim(1) == 0) throw Error("empty input: " + name + " has shape " + shape_to_string(ids.shape()));
  for (int64_t i = 0; i < ids.numel(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw Error(name + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside the vocabulary (0.." +
                  std::to_string(vocab - 1) + ")");
}

// 0/1 mask as floats; all ones when absent.
Tensor mask_floats(const I64Tensor& mask, const I64Tensor& ids, const std::string& name) {
  Tensor out = Tensor::uninitialized(ids.shape());
  if (mask.empty()) {
    out.fill(1.0f);
    return out;
  }
  if (mask.shape() != ids.shape())
    throw Error(name + " has shape " + shape_to_string(mask.shape()) + ", ids " + shape_to_string(ids.shape()));
  for (int64_t i = 0; i < mask.numel(); ++i) {
    if (mask[i] != 0 && mask[i] != 1) throw Error(name + " must hold 0 or 1, found " + std::to_string(mask[i]));
    out[i] = float(mask[i]);
  }
  return out;
}

}  // namespace

PegasusModel::PegasusModel(ModelConfig config, ParameterStore params)
    : config_(std::move(config)),
      params_(std::move(params)),
      encoder_backend_(std::make_shared<backend::PegasusEncoderBackend>()),
      decoder_backend_(std::make_shared<backend::PegasusDecoderBackend>()) {
  if (config_.family != ModelFamily::BigBirdPegasus)
    throw Error("this is a " + config_.model_type + " checkpoint, not BigBird-Pegasus");
  weights_ = bind_pegasus(params_, config_);
}

PegasusModel PegasusModel::load(const std::string& dir) {
  const io::ModelLocation loc = io::locate_model(dir);
  if (loc.config.empty()) throw Error(dir + ": no config.json next to the weights");
  ModelConfig config = load_config(loc.config);
  if (config.family != ModelFamily::BigBirdPegasus)
    throw Error(dir + ": config.json describes a " + config.model_type + " model, not bigbird_pegasus");
  ParameterStore params = io::load_checkpoint(dir, config);
  return PegasusModel(std::move(config), std::move(params));
}

PegasusEncoding PegasusModel::encode(const I64Tensor& ids, const I64Tensor& attention_mask,
                                     const PegasusEncodeOptions& opt) const {
  check_ids(ids, "input_ids", config_.vocab_size);
  const Tensor mask = mask_floats(attention_mask, ids, "attention_mask");
  if (opt.backend == backend::Kind::Cpu)
    return run_pegasus_encoder(weights_, config_, ids.data(), mask.data(), ids.dim(0), ids.dim(1), opt);
  return encoder_backend_->run({opt.backend, opt.device}, weights_, config_, ids.data(), mask.data(), ids.dim(0),
                               ids.dim(1), opt);
}

PegasusCache PegasusModel::start_decoder(const PegasusEncoding& enc, std::vector<int32_t> row_source,
                                         int64_t capacity) const {
  return start_pegasus_cache(weights_, config_, enc.hidden, enc.mask, std::move(row_source), capacity);
}

Tensor PegasusModel::decode(PegasusCache& cache, const int64_t* ids, int64_t count, const float* token_mask,
                            bool all_positions, CrossAttentionCapture* capture) const {
  return pegasus_decode(weights_, config_, cache, ids, count, token_mask, all_positions, capture);
}

void PegasusModel::release_encoder_weights() const {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  for (const std::string& name : params_.names()) {
    if (name.rfind("model.encoder.", 0) != 0 || name == "model.encoder.embed_tokens.weight") continue;
    const Tensor& t = params_.get(name);
    if (!t.is_view()) continue;  // owned memory: nothing to give back to a file
    // Whole pages inside the tensor only: neighbouring tensors may share the boundary pages.
    const uintptr_t begin = (uintptr_t(t.data()) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(t.data()) + t.bytes()) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

I64Tensor shift_tokens_right(const I64Tensor& ids, int64_t pad, int64_t start) {
  if (start < 0) throw Error("the config has no decoder_start_token_id; pass decoder_input_ids");
  I64Tensor out(ids.shape());
  const int64_t B = ids.dim(0), L = ids.dim(1);
  for (int64_t b = 0; b < B; ++b) {
    out[b * L] = start;
    for (int64_t t = 1; t < L; ++t) {
      const int64_t v = ids[b * L + t - 1];
      out[b * L + t] = v == -100 ? pad : v;
    }
  }
  return out;
}

Seq2SeqOutputs PegasusModel::forward(const Seq2SeqInputs& in, const PegasusEncodeOptions& opt) const {
  Seq2SeqOutputs out;
  out.encoder = encode(in.input_ids, in.attention_mask, opt);
  const I64Tensor shifted = in.decoder_input_ids.empty()
                                ? shift_tokens_right(in.input_ids, config_.pad_token_id, config_.decoder_start_token_id)
                                : I64Tensor();
  const I64Tensor& dec = in.decoder_input_ids.empty() ? shifted : in.decoder_input_ids;
  check_ids(dec, "decoder_input_ids", config_.vocab_size);
  if (dec.dim(0) != in.input_ids.dim(0))
    throw Error("decoder_input_ids has " + std::to_string(dec.dim(0)) + " rows, input_ids " +
                std::to_string(in.input_ids.dim(0)));
  const Tensor dec_mask = mask_floats(in.decoder_attention_mask, dec, "decoder_attention_mask");
  const int64_t B = dec.dim(0), T = dec.dim(1);
  std::vector<int32_t> rows(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) rows[size_t(b)] = int32_t(b);
  PegasusCache cache = start_decoder(out.encoder, rows, T);
  out.logits = decode(cache, dec.data(), T, in.decoder_attention_mask.empty() ? nullptr : dec_mask.data(), true);
  return out;
}

}  // namespace bb
