#include "engine/backend/reference/attention_backward_reference.h"

#include <algorithm>
#include <cmath>

namespace bb::reference {

AttentionGrads block_sparse_attention_backward(const float* q, const float* k, const float* v, const float* dout,
                                               const float* mask, const attn::BlockPattern& pattern, int head_dim) {
  const int heads = pattern.heads(), nb = pattern.num_blocks(), b = pattern.block();
  const int64_t L = pattern.padded_len(), d = head_dim, ld = int64_t(heads) * d;
  const double scale = 1.0 / std::sqrt(double(d));
  AttentionGrads g;
  std::vector<double> dq(size_t(L * ld), 0.0), dk(size_t(L * ld), 0.0), dv(size_t(L * ld), 0.0);

  for (int h = 0; h < heads; ++h)
    for (int qb = 0; qb < nb; ++qb) {
      std::vector<int64_t> keys;  // score columns -> key rows, duplicates kept
      for (const attn::KeyBlock& kb : pattern.key_blocks(h, qb))
        for (int t = 0; t < b; ++t) keys.push_back(int64_t(kb.block) * b + t);
      const size_t n = keys.size();
      std::vector<double> p(n), dp(n);
      for (int i = 0; i < b; ++i) {
        const int64_t row = int64_t(qb) * b + i;
        if (mask && mask[row] == 0.0f) continue;  // zeroed output: no gradient flows
        const float* qi = q + row * ld + h * d;
        const float* gi = dout + row * ld + h * d;
        double mx = -1e300;
        for (size_t j = 0; j < n; ++j) {
          const float* kj = k + keys[j] * ld + h * d;
          double s = 0;
          for (int64_t c = 0; c < d; ++c) s += double(qi[c]) * kj[c];
          s *= scale;
          if (mask && mask[keys[j]] == 0.0f) s += -10000.0;
          p[j] = s;
          mx = std::max(mx, s);
        }
        double sum = 0;
        for (size_t j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - mx));
        double delta = 0;
        for (size_t j = 0; j < n; ++j) {
          p[j] /= sum;
          const float* vj = v + keys[j] * ld + h * d;
          double t = 0;
          for (int64_t c = 0; c < d; ++c) t += double(gi[c]) * vj[c];
          dp[j] = t;
          delta += p[j] * t;
        }
        for (size_t j = 0; j < n; ++j) {
          const double ds = p[j] * (dp[j] - delta);
          const float* kj = k + keys[j] * ld + h * d;
          double* dkj = dk.data() + keys[j] * ld + h * d;
          double* dvj = dv.data() + keys[j] * ld + h * d;
          double* dqi = dq.data() + row * ld + h * d;
          for (int64_t c = 0; c < d; ++c) {
            dqi[c] += scale * ds * kj[c];
            dkj[c] += scale * ds * qi[c];
            dvj[c] += p[j] * gi[c];
          }
        }
      }
    }
  g.dq.assign(dq.begin(), dq.end());
  g.dk.assign(dk.begin(), dk.end());
  g.dv.assign(dv.begin(), dv.end());
  return g;
}

}  // namespace bb::reference
