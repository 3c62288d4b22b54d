#pragma once
// Evaluation metrics of the fine-tuning tasks:
//   classification  accuracy, macro F1 (and the positive class's F1 for 2 labels)
//   QA              SQuAD exact match and token F1 (answers normalised as the official script:
//                   lower case, punctuation and the articles a/an/the removed, whitespace collapsed),
//                   the best over the gold answers; no-answer questions match an empty prediction
//   summarization   ROUGE-1/2/L F-measure (rouge_score's default tokenizer: lower case, runs of
//                   [a-z0-9]; no stemming)
#include <cstdint>
#include <string>
#include <vector>

namespace bb::train {

struct ClassificationMetrics {
  double accuracy = 0.0, macro_f1 = 0.0, positive_f1 = 0.0;  // positive_f1: label 1 when there are 2 labels
};
ClassificationMetrics classification_metrics(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                                             int num_labels);

std::string normalize_answer(const std::string& s);
double exact_match(const std::string& prediction, const std::vector<std::string>& answers);
double token_f1(const std::string& prediction, const std::vector<std::string>& answers);

struct Rouge {
  double rouge1 = 0.0, rouge2 = 0.0, rougeL = 0.0;
};
Rouge rouge(const std::string& prediction, const std::string& reference);

}  // namespace bb::train
