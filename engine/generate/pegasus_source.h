#pragma once
// BigBird-Pegasus as a Seq2SeqSource: the encoder output of a batch, decoded with the incremental KV
// cache. Cross-attention keys/values are computed once per input and shared by its beams. Sessions
// decode on the CPU or, through the model's decoder backend, on Vulkan (with the CPU fallback).
#include <memory>
#include <string>

#include "engine/backend/encoder_backend.h"  // Selection
#include "engine/generate/decoder_session.h"
#include "engine/models/pegasus_model.h"

namespace bb::gen {

class PegasusSource : public Seq2SeqSource {
 public:
  // Keeps references: `model` and `encoding` must outlive the source and its sessions. `decoder`
  // says where sessions decode; cross-attention captures always run on the CPU (`vulkan` says so),
  // and so does everything after an encoder that fell back to the CPU (its notice said why).
  PegasusSource(const PegasusModel& model, const PegasusEncoding& encoding, backend::Selection decoder = {});

  int64_t batch() const override;
  int64_t vocab_size() const override;
  int64_t max_decoder_length() const override;
  std::unique_ptr<DecoderSession> start(int rows_per_item, int64_t max_len, bool capture_cross_attention) override;

  // What decodes the latest session: "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)";
  // empty before the first session.
  const std::string& decoder_backend() const { return decoder_backend_; }

 private:
  const PegasusModel& model_;
  const PegasusEncoding& encoding_;
  backend::Selection selection_;
  std::string decoder_backend_;
};

}  // namespace bb::gen
