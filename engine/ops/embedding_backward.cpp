#include "engine/ops/embedding_backward.h"

#include <algorithm>

#include "engine/core/thread_pool.h"

namespace bb::ops {

void embedding_backward(const float* dy, const int64_t* ids, int64_t rows, int64_t H, float* dtable,
                        int64_t padding_idx, int64_t period) {
  constexpr int64_t kPanel = 64;
  const int64_t panels = (H + kPanel - 1) / kPanel;
  parallel_for(0, panels, [&](int64_t p) {
    const int64_t c0 = p * kPanel, c1 = std::min(H, c0 + kPanel);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t id = ids ? ids[r] : r % period;
      if (id == padding_idx) continue;
      const float* src = dy + r * H;
      float* dst = dtable + id * H;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace bb::ops
