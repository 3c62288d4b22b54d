#pragma once
// Softmax cross-entropy with torch's CrossEntropyLoss(reduction="mean", ignore_index) semantics,
// forward and backward in one pass: loss = Σ_counted (logsumexp(z_r) − z_r[t_r]) / count.
// With dlogits, writes d(grad_scale · loss)/dlogits (zero rows for ignored targets).
// A target outside [0, classes) that is not ignore_index is a bb::Error naming the row.
#include <cstdint>

namespace bb::train {

struct CrossEntropyResult {
  double loss = 0.0;    // mean over counted rows (0 when count == 0)
  int64_t count = 0;    // rows whose target is not ignore_index
  int64_t correct = 0;  // counted rows whose argmax equals the target (for accuracy metrics)
};

CrossEntropyResult cross_entropy(const float* logits, int64_t rows, int64_t classes, const int64_t* targets,
                                 int64_t ignore_index, float* dlogits = nullptr, float grad_scale = 1.0f,
                                 int64_t ld = 0);

}  // namespace bb::train
