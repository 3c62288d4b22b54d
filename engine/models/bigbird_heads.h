#pragma once
// Task heads on top of the BigBird encoder, with HF parameter names (bigbird-spec.md §5).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/config.h"
#include "engine/models/parameters.h"

namespace bb {

enum class Head { None, MaskedLM, SequenceClassification, QuestionAnswering };
Head parse_head(const std::string& s);  // none|mlm|cls|qa
std::string to_string(Head h);

// pooled = tanh(W·h[:,0] + b): "<prefix>pooler.{weight,bias}".
Tensor pooler_forward(const ParameterStore& p, const std::string& prefix, const Tensor& hidden);

// MLM: logits = LN(act(W·h + b))·Eᵀ + bias ("cls.predictions.*", decoder tied to the word embeddings).
// rows: which positions of hidden [batch, len, H] to score (empty = all) -> [n, vocab].
Tensor mlm_logits(const ParameterStore& p, const ModelConfig& c, const std::string& prefix, const Tensor& hidden,
                  const std::vector<int64_t>& rows = {});

// HF BigBirdClassificationHead: out_proj(act(dense(h[:,0]))) -> [batch, num_labels].
Tensor classification_logits(const ParameterStore& p, const ModelConfig& c, const Tensor& hidden);

// HF BigBirdForQuestionAnswering head: returns [batch, len, 2] before question masking.
Tensor qa_logits(const ParameterStore& p, const ModelConfig& c, const Tensor& hidden);

// Question length per row = index of the first sep token + 1 (1 when there is none), as HF.
std::vector<int64_t> question_lengths(const int64_t* input_ids, int64_t batch, int64_t len, int64_t sep_token_id);

}  // namespace bb
