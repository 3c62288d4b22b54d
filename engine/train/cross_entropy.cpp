#include "engine/train/cross_entropy.h"

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/fast_math.h"

namespace bb::train {

CrossEntropyResult cross_entropy(const float* logits, int64_t rows, int64_t classes, const int64_t* targets,
                                 int64_t ignore_index, float* dlogits, float grad_scale, int64_t ld) {
  if (ld == 0) ld = classes;
  CrossEntropyResult res;
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_index) continue;
    if (targets[r] < 0 || targets[r] >= classes)
      throw Error("label " + std::to_string(targets[r]) + " at row " + std::to_string(r) + " is outside 0.." +
                  std::to_string(classes - 1) + " (and is not the ignore index " + std::to_string(ignore_index) + ")");
    ++res.count;
  }
  std::vector<double> row_loss(size_t(rows), 0.0);
  std::vector<uint8_t> row_correct(size_t(rows), 0);
  const float g = res.count > 0 ? float(double(grad_scale) / double(res.count)) : 0.0f;
  parallel_for(
      0, rows,
      [&](int64_t r) {
        const float* z = logits + r * ld;
        float* dz = dlogits ? dlogits + r * ld : nullptr;
        if (targets[r] == ignore_index) {
          if (dz)
            for (int64_t c = 0; c < classes; ++c) dz[c] = 0.0f;
          return;
        }
        float mx = z[0];
        int64_t arg = 0;
        for (int64_t c = 1; c < classes; ++c)
          if (z[c] > mx) {
            mx = z[c];
            arg = c;
          }
        double sum = 0.0;
        for (int64_t c = 0; c < classes; ++c) sum += double(fast::exp(z[c] - mx));
        const double lse = double(mx) + std::log(sum);
        const int64_t t = targets[r];
        row_loss[size_t(r)] = lse - double(z[t]);
        row_correct[size_t(r)] = arg == t;
        if (dz) {
          const float inv = float(1.0 / sum);
          for (int64_t c = 0; c < classes; ++c) dz[c] = fast::exp(z[c] - mx) * inv * g;
          dz[t] -= g;
        }
      },
      4);
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    total += row_loss[size_t(r)];
    res.correct += row_correct[size_t(r)];
  }
  res.loss = res.count > 0 ? total / double(res.count) : 0.0;
  return res;
}

}  // namespace bb::train
