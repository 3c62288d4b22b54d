#include "engine/train/block_sparse_attention_backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"
#include "engine/ops/softmax_backward.h"

namespace bb::train {

void block_sparse_attention_backward(const AttentionTrainArgs& a, const float* dctx, float* dq, float* dk, float* dv) {
  const attn::BlockPattern& p = *a.pattern;
  const int64_t L = p.padded_len(), d = a.head_dim, b = p.block(), ld = a.ld;
  const int nb = p.num_blocks();
  const float scale = 1.0f / std::sqrt(float(d));

  parallel_for(0, a.heads, [&](int64_t hh) {
    const int h = int(hh);
    // Head-major copies, as the forward uses them: a key block is one contiguous [b, d] slab.
    std::vector<float> Kh(size_t(L * d)), Vh(size_t(L * d)), dKh(size_t(L * d), 0.0f), dVh(size_t(L * d), 0.0f);
    for (int64_t i = 0; i < L; ++i) {
      std::memcpy(Kh.data() + i * d, a.k + i * ld + h * d, sizeof(float) * size_t(d));
      std::memcpy(Vh.data() + i * d, a.v + i * ld + h * d, sizeof(float) * size_t(d));
    }
    std::vector<float> kbuf, vbuf, dkbuf, dvbuf, P, dP, dO(size_t(b * d));
    for (int qb = 0; qb < nb; ++qb) {
      const std::vector<attn::KeyBlock> keys = p.key_blocks(h, qb);
      const int64_t nk = int64_t(keys.size()), width = nk * b;
      const bool global_row = qb == 0 || qb == nb - 1;
      const float* Kg = Kh.data();
      const float* Vg = Vh.data();
      if (!global_row) {
        kbuf.resize(size_t(width * d));
        vbuf.resize(size_t(width * d));
        for (int64_t j = 0; j < nk; ++j) {
          const size_t src = size_t(keys[size_t(j)].block * b * d), n = size_t(b * d);
          std::memcpy(kbuf.data() + j * b * d, Kh.data() + src, n * sizeof(float));
          std::memcpy(vbuf.data() + j * b * d, Vh.data() + src, n * sizeof(float));
        }
        Kg = kbuf.data();
        Vg = vbuf.data();
      }
      // Recompute this tile's probabilities exactly as the forward did.
      P.resize(size_t(b * width));
      dP.resize(size_t(b * width));
      const float* Q = a.q + int64_t(qb) * b * ld + h * d;
      ops::gemm(false, true, b, width, d, scale, Q, ld, Kg, d, 0.0f, P.data(), width);
      if (a.mask)
        for (int64_t j = 0; j < nk; ++j) {
          const float* m = a.mask + keys[size_t(j)].block * b;
          for (int64_t t = 0; t < b; ++t) {
            if (m[t] != 0.0f) continue;
            for (int64_t i = 0; i < b; ++i) P[size_t(i * width + j * b + t)] += -10000.0f;
          }
        }
      ops::softmax_rows(P.data(), b, width, width);

      // Padded query rows were zeroed after P·V: no gradient reaches their probabilities.
      for (int64_t i = 0; i < b; ++i) {
        const bool zeroed = a.mask && a.mask[qb * b + i] == 0.0f;
        const float* src = dctx + (int64_t(qb) * b + i) * ld + h * d;
        for (int64_t t = 0; t < d; ++t) dO[size_t(i * d + t)] = zeroed ? 0.0f : src[t];
      }
      // dP = dO·Vgᵀ ; dVg = Pᵀ·dO
      ops::gemm(false, true, b, width, d, 1.0f, dO.data(), d, Vg, d, 0.0f, dP.data(), width);
      float* dVg = dVh.data();
      if (!global_row) {
        dvbuf.resize(size_t(width * d));
        dVg = dvbuf.data();
      }
      ops::gemm(true, false, width, d, b, 1.0f, P.data(), width, dO.data(), d, global_row ? 1.0f : 0.0f, dVg, d);
      // dS = softmax backward ; dQ = dS·Kg·s ; dKg = dSᵀ·Q·s
      ops::softmax_rows_backward(P.data(), dP.data(), dP.data(), b, width, width);
      ops::gemm(false, false, b, d, width, scale, dP.data(), width, Kg, d, 0.0f, dq + int64_t(qb) * b * ld + h * d, ld);
      float* dKg = dKh.data();
      if (!global_row) {
        dkbuf.resize(size_t(width * d));
        dKg = dkbuf.data();
      }
      ops::gemm(true, false, width, d, b, scale, dP.data(), width, Q, ld, global_row ? 1.0f : 0.0f, dKg, d);
      if (!global_row)  // scatter every listed copy back to its block (duplicates add up)
        for (int64_t j = 0; j < nk; ++j) {
          const int64_t dst = int64_t(keys[size_t(j)].block) * b * d;
          const float* sk = dkbuf.data() + j * b * d;
          const float* sv = dvbuf.data() + j * b * d;
          for (int64_t t = 0; t < b * d; ++t) {
            dKh[size_t(dst + t)] += sk[t];
            dVh[size_t(dst + t)] += sv[t];
          }
        }
    }
    for (int64_t i = 0; i < L; ++i) {
      std::memcpy(dk + i * ld + h * d, dKh.data() + i * d, sizeof(float) * size_t(d));
      std::memcpy(dv + i * ld + h * d, dVh.data() + i * d, sizeof(float) * size_t(d));
    }
  });
}

}  // namespace bb::train
