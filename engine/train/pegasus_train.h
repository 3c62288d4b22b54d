#pragma once
// BigBird-Pegasus for training: teacher-forced forward with saved activations and the backward of
// every parameter (bigbird-spec.md §2.2, §4.2-4.3, §5.5), with HF's hidden dropout (config "dropout")
// after the embeddings and on every attention / FFN output before its residual add. Masks are
// counter-based (engine/train/dropout.h): the backward replays them exactly.
//   encoder  x = sqrt(d)·E[ids] + Pos (block_sparse: padded to a block multiple with the unscaled pad
//            embedding, mask 0), per layer x += Wo·Attn(LN(x)), x += W2·act(W1·LN(x)); LN_final; cut back
//   decoder  y = sqrt(d)·E[dec_ids] + Pos, per layer y += SelfAttn_causal(LN(y)),
//            y += CrossAttn(LN(y), enc), y += FFN(LN(y)); logits = LN_final(y)·Eᵀ + final_logits_bias
// The forward is the inference forward's arithmetic (same ops, same order); the attention kernels
// are engine/train/attention_train (encoder) and dense_attention_train (decoder).
#include <cstdint>
#include <vector>

#include "engine/attention/plan.h"
#include "engine/core/tensor.h"
#include "engine/train/trainable_pegasus.h"

namespace bb::train {

// A validated, padded seq2seq micro-batch.
struct Seq2SeqPadded {
  int64_t batch = 0, src_len = 0, src_padded = 0, tgt_len = 0;
  I64Tensor src_ids;   // [B, P] (pad beyond src_len)
  Tensor src_mask_p;   // [B, P] 1 real / 0 padding
  Tensor src_mask;     // [B, L] the caller's mask (cross-attention)
  I64Tensor dec_ids;   // [B, T]
  I64Tensor labels;    // [B, T] (-100 ignored) or empty
  attn::AttentionDecision decision;
  attn::RandomBlocks random_blocks = attn::RandomBlocks::HFTrain;
};

struct Seq2SeqDropout {
  float hidden = 0.0f;  // 0: off (evaluation, gradient checks)
  uint64_t stream = 0;  // per micro-batch key (dropout_key(seed, step, micro))
};

struct PegasusEncoderLayerActs {
  Tensor x_in, h1, q, k, v, ctx, x_mid, h2, ff_pre;  // [rows, D] / ff_pre [rows, F]
};
struct PegasusEncoderTrace {
  std::vector<PegasusEncoderLayerActs> layers;
  std::vector<attn::BlockPattern> patterns;  // per layer (sparse only)
  Tensor x_final;                            // [B*P, D] input of the final LayerNorm
  Tensor hidden;                             // [B, L, D] encoder output, unpadded
};

struct PegasusDecoderLayerActs {
  Tensor y_in, h1, sq, sk, sv, sctx, y_mid1, h2, cq, cctx, y_mid2, h3, ff_pre;  // [B*T, D] / ff_pre [B*T, F]
  Tensor ck, cv;                                                               // [B*L, D]
};
struct PegasusDecoderTrace {
  std::vector<PegasusDecoderLayerActs> layers;
  Tensor y_final, h_final;  // [B*T, D] input and output of the final LayerNorm
};

// keep = false: nothing saved beyond what the next layer needs (evaluation).
void pegasus_encoder_train_forward(const TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                   bool keep, PegasusEncoderTrace& trace);
// dhidden [B, L, D] (the unpadded encoder output's gradient). Accumulates encoder gradients and the
// encoder's share of model.shared.weight.
void pegasus_encoder_train_backward(TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                    PegasusEncoderTrace& trace, const Tensor& dhidden);

// Returns the logits [B*T, V]. enc_hidden: [B, L, D].
Tensor pegasus_decoder_train_forward(const TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                     const Tensor& enc_hidden, bool keep, PegasusDecoderTrace& trace);
// dlogits [B*T, V]; accumulates decoder, LM head and embedding gradients; adds the gradient of the
// encoder output to denc [B, L, D].
void pegasus_decoder_train_backward(TrainablePegasus& m, const Seq2SeqPadded& b, const Seq2SeqDropout& drop,
                                    const Tensor& enc_hidden, PegasusDecoderTrace& trace, const Tensor& dlogits,
                                    Tensor& denc);

}  // namespace bb::train
