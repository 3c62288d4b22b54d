#include "engine/generate/pegasus_source.h"

#include "engine/backend/pegasus_decoder_backend.h"

namespace bb::gen {

namespace {

class PegasusSession : public DecoderSession {
 public:
  PegasusSession(const PegasusModel& model, PegasusCache cache, bool capture)
      : model_(model), cache_(std::move(cache)) {
    capture_.enabled = capture;
  }

  Tensor step(const std::vector<int64_t>& tokens) override {
    return model_.decode(cache_, tokens.data(), 1, nullptr, false, capture_.enabled ? &capture_ : nullptr);
  }
  void reorder(const std::vector<int32_t>& src) override { reorder_pegasus_cache(cache_, src); }
  std::vector<float> cross_attention(int64_t row) const override {
    if (!capture_.enabled || capture_.probs.empty()) return {};
    const int64_t L = capture_.probs.dim(2);
    const float* p = capture_.probs.data() + row * L;  // one new token per step
    return std::vector<float>(p, p + L);
  }

 private:
  const PegasusModel& model_;
  PegasusCache cache_;
  CrossAttentionCapture capture_;
};

}  // namespace

PegasusSource::PegasusSource(const PegasusModel& model, const PegasusEncoding& encoding, backend::Selection decoder)
    : model_(model), encoding_(encoding), selection_(std::move(decoder)) {}

int64_t PegasusSource::batch() const { return encoding_.hidden.dim(0); }
int64_t PegasusSource::vocab_size() const { return model_.config().vocab_size; }
int64_t PegasusSource::max_decoder_length() const { return model_.config().max_position_embeddings; }

std::unique_ptr<DecoderSession> PegasusSource::start(int rows_per_item, int64_t max_len, bool capture) {
  std::vector<int32_t> rows;
  for (int64_t b = 0; b < batch(); ++b)
    for (int j = 0; j < rows_per_item; ++j) rows.push_back(int32_t(b));
  // An encoder that already fell back said why (one notice); its decoder follows it to the CPU.
  const bool encoder_fell_back = encoding_.backend.rfind("cpu (fallback: ", 0) == 0;
  if (selection_.kind != backend::Kind::Cpu && encoder_fell_back) {
    decoder_backend_ = encoding_.backend;
    return std::make_unique<PegasusSession>(model_, model_.start_decoder(encoding_, std::move(rows), max_len), capture);
  }
  if (selection_.kind != backend::Kind::Cpu && !capture)
    return model_.decoder_backend().start(selection_, model_.weights(), model_.config(), encoding_.hidden,
                                          encoding_.mask, std::move(rows), max_len, &decoder_backend_);
  if (capture) backend::cpu_only(selection_.kind, "cross-attention capture of the BigBird-Pegasus decoder");
  decoder_backend_ = "cpu";
  return std::make_unique<PegasusSession>(model_, model_.start_decoder(encoding_, std::move(rows), max_len), capture);
}

}  // namespace bb::gen
