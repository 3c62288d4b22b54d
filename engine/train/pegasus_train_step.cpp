#include "engine/train/pegasus_train_step.h"

#include <string>

#include "engine/core/error.h"
#include "engine/models/pegasus_model.h"
#include "engine/train/cross_entropy.h"
#include "engine/train/dropout.h"

namespace bb::train {

namespace {

void check_ids(const I64Tensor& ids, const std::string& name, int64_t vocab, bool allow_ignore) {
  if (ids.rank() != 2) throw Error(name + " must be [batch, len], got " + shape_to_string(ids.shape()));
  if (ids.dim(0) == 0 || ids.dim(1) == 0) throw Error("empty input: " + name + " has shape " + shape_to_string(ids.shape()));
  for (int64_t i = 0; i < ids.numel(); ++i)
    if ((ids[i] < 0 || ids[i] >= vocab) && !(allow_ignore && ids[i] == -100))
      throw Error(name + "[" + std::to_string(i / ids.dim(1)) + "," + std::to_string(i % ids.dim(1)) + "] = " +
                  std::to_string(ids[i]) + " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")" +
                  (allow_ignore ? " and is not -100" : ""));
}

}  // namespace

Seq2SeqPadded prepare_seq2seq_batch(const ModelConfig& c, const Seq2SeqTrainBatch& in, const Seq2SeqStepOptions& o) {
  const int64_t V = c.vocab_size;
  check_ids(in.input_ids, "input_ids", V, false);
  const int64_t B = in.input_ids.dim(0), L = in.input_ids.dim(1);
  if (!in.attention_mask.empty()) {
    if (in.attention_mask.shape() != in.input_ids.shape())
      throw Error("attention_mask has shape " + shape_to_string(in.attention_mask.shape()) + ", input_ids " +
                  shape_to_string(in.input_ids.shape()));
    for (int64_t i = 0; i < in.attention_mask.numel(); ++i)
      if (in.attention_mask[i] != 0 && in.attention_mask[i] != 1)
        throw Error("attention_mask must hold 0 or 1, found " + std::to_string(in.attention_mask[i]));
  }
  if (in.labels.empty() && in.decoder_input_ids.empty()) throw Error("seq2seq needs labels (or decoder_input_ids)");
  if (!in.labels.empty()) {
    check_ids(in.labels, "labels", V, true);
    if (in.labels.dim(0) != B)
      throw Error("labels has " + std::to_string(in.labels.dim(0)) + " rows, input_ids " + std::to_string(B));
  }
  if (!in.decoder_input_ids.empty()) {
    check_ids(in.decoder_input_ids, "decoder_input_ids", V, false);
    if (in.decoder_input_ids.dim(0) != B)
      throw Error("decoder_input_ids has " + std::to_string(in.decoder_input_ids.dim(0)) + " rows, input_ids " +
                  std::to_string(B));
    if (!in.labels.empty() && in.labels.shape() != in.decoder_input_ids.shape())
      throw Error("labels has shape " + shape_to_string(in.labels.shape()) + ", decoder_input_ids " +
                  shape_to_string(in.decoder_input_ids.shape()));
  }

  Seq2SeqPadded p;
  p.batch = B;
  p.src_len = L;
  p.random_blocks = o.random_blocks;
  p.decision = attn::decide_attention(o.attention_type.value_or(c.attention_type), L, c.block_size,
                                      c.num_random_blocks, o.random_blocks);
  const int64_t P = p.src_padded = p.decision.padded_len;
  if (L > c.max_position_embeddings)
    throw Error("input of " + std::to_string(L) + " tokens is longer than max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));
  p.dec_ids = in.decoder_input_ids.empty() ? shift_tokens_right(in.labels, c.pad_token_id, c.decoder_start_token_id)
                                           : in.decoder_input_ids.clone();
  p.tgt_len = p.dec_ids.dim(1);
  if (p.tgt_len > c.max_position_embeddings)
    throw Error("target of " + std::to_string(p.tgt_len) + " tokens is longer than max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));
  if (!in.labels.empty()) p.labels = in.labels.clone();
  p.src_ids = I64Tensor({B, P});
  p.src_mask_p = Tensor({B, P});
  p.src_mask = Tensor({B, L});
  for (int64_t r = 0; r < B; ++r)
    for (int64_t t = 0; t < P; ++t) {
      const bool real = t < L;
      const float m = !real ? 0.0f : (in.attention_mask.empty() ? 1.0f : float(in.attention_mask[r * L + t]));
      p.src_ids[r * P + t] = real ? in.input_ids[r * L + t] : c.pad_token_id;
      p.src_mask_p[r * P + t] = m;
      if (real) p.src_mask[r * L + t] = m;
    }
  return p;
}

Seq2SeqStepResult pegasus_forward_backward(TrainablePegasus& m, const Seq2SeqTrainBatch& in,
                                           const Seq2SeqStepOptions& o) {
  const ModelConfig& c = m.config();
  const Seq2SeqPadded b = prepare_seq2seq_batch(c, in, o);
  if (o.backward && b.labels.empty()) throw Error("training needs labels");
  Seq2SeqStepResult res;
  res.decision = b.decision;
  for (int64_t i = 0; i < b.src_mask.numel(); ++i) res.tokens += b.src_mask[i] != 0.0f;

  Seq2SeqDropout drop;
  if (o.dropout != 0.0f) {
    if (!(o.dropout > 0.0f && o.dropout < 1.0f))
      throw Error("dropout probability " + std::to_string(o.dropout) + " must be in [0, 1)");
    if (c.attention_probs_dropout_prob > 0 || c.activation_dropout > 0)
      throw Error("the config sets attention_dropout / activation_dropout; Pegasus training implements only the "
                  "hidden dropout (set them to 0 in config.json)");
    drop.hidden = o.dropout;
    drop.stream = dropout_key(o.dropout_seed, o.step, o.micro_batch);
  }
  PegasusEncoderTrace enc;
  pegasus_encoder_train_forward(m, b, drop, o.backward, enc);
  PegasusDecoderTrace dec;
  Tensor logits = pegasus_decoder_train_forward(m, b, drop, enc.hidden, o.backward, dec);
  const int64_t M = b.batch * b.tgt_len, V = c.vocab_size;
  Tensor dlogits;
  if (!b.labels.empty()) {
    if (o.backward) dlogits = Tensor::uninitialized({M, V});
    const CrossEntropyResult ce =
        cross_entropy(logits.data(), M, V, b.labels.data(), -100, o.backward ? dlogits.data() : nullptr, o.grad_scale);
    res.loss = ce.loss;
    res.count = ce.count;
    res.correct = ce.correct;
    res.tokens += ce.count;
  }
  if (o.keep_logits) res.logits = std::move(logits).reshaped({b.batch, b.tgt_len, V});
  if (o.backward) {
    Tensor denc({b.batch, b.src_len, c.hidden_size});
    pegasus_decoder_train_backward(m, b, drop, enc.hidden, dec, dlogits, denc);
    dlogits = Tensor();
    pegasus_encoder_train_backward(m, b, drop, enc, denc);
  }
  res.encoder_hidden = std::move(enc.hidden);
  return res;
}

}  // namespace bb::train
