#pragma once
// BigBird-Pegasus as a Seq2SeqSource: the encoder output of a batch, decoded with the incremental KV
// cache. Cross-attention keys/values are computed once per input and shared by its beams.
#include <memory>

#include "engine/generate/decoder_session.h"
#include "engine/models/pegasus_model.h"

namespace bb::gen {

class PegasusSource : public Seq2SeqSource {
 public:
  // Keeps references: `model` and `encoding` must outlive the source and its sessions.
  PegasusSource(const PegasusModel& model, const PegasusEncoding& encoding);

  int64_t batch() const override;
  int64_t vocab_size() const override;
  int64_t max_decoder_length() const override;
  std::unique_ptr<DecoderSession> start(int rows_per_item, int64_t max_len, bool capture_cross_attention) override;

 private:
  const PegasusModel& model_;
  const PegasusEncoding& encoding_;
};

}  // namespace bb::gen
