#pragma once
// What the search algorithms decode from, independent of the model: a source of `batch` encoded
// inputs that opens decoding sessions of several rows per input (beams), each step feeding one token
// per row and returning next-token logits. PegasusSource implements it for BigBird-Pegasus; tests
// implement it with constructed toy models whose best sequence is known by exhaustive search.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/tensor.h"

namespace bb::gen {

class DecoderSession {
 public:
  virtual ~DecoderSession() = default;
  // Feeds one token per row (the row's newest token; the decoder start token at the first step) and
  // returns the next-token logits [rows, vocab].
  virtual Tensor step(const std::vector<int64_t>& tokens) = 0;
  // Row i continues what row src[i] was (beam search keeps, drops and duplicates rows).
  virtual void reorder(const std::vector<int32_t>& src) = 0;
  // Cross-attention of `row` at the last step over its input's tokens (empty unless captured).
  virtual std::vector<float> cross_attention(int64_t row) const { return {}; }
};

class Seq2SeqSource {
 public:
  virtual ~Seq2SeqSource() = default;
  virtual int64_t batch() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_decoder_length() const = 0;  // e.g. the decoder's position table
  // rows_per_item rows per input (row r decodes input r / rows_per_item), room for max_len tokens.
  virtual std::unique_ptr<DecoderSession> start(int rows_per_item, int64_t max_len, bool capture_cross_attention) = 0;
};

}  // namespace bb::gen
