#include "engine/attention/block_sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/core/thread_pool.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb::attn {

namespace {

// [L, ld] with heads side by side -> [heads, L, d] so a key block is one contiguous [b, d] slab.
Tensor to_head_major(const float* x, int64_t ld, int64_t L, int heads, int64_t d) {
  Tensor out = Tensor::uninitialized({heads, L, d});
  parallel_for(0, heads, [&](int64_t h) {
    float* dst = out.data() + h * L * d;
    for (int64_t i = 0; i < L; ++i) std::memcpy(dst + i * d, x + i * ld + h * d, sizeof(float) * size_t(d));
  });
  return out;
}

void prepare_capture(AttentionMap& map, const BlockPattern& p) {
  const int nb = p.num_blocks(), b = p.block();
  map.blocked = true;
  map.heads = p.heads();
  map.query_len = map.key_len = p.padded_len();
  map.block = b;
  map.num_blocks = nb;
  map.key_blocks.clear();
  map.list_offset.assign(1, 0);
  map.tile_offset.assign(1, 0);
  for (int h = 0; h < p.heads(); ++h)
    for (int qb = 0; qb < nb; ++qb) {
      for (const KeyBlock& kb : p.key_blocks(h, qb)) map.key_blocks.push_back(kb.block);
      const int64_t nk = int64_t(map.key_blocks.size()) - map.list_offset.back();
      map.list_offset.push_back(int64_t(map.key_blocks.size()));
      map.tile_offset.push_back(map.tile_offset.back() + int64_t(b) * nk * b);
    }
  map.tiles.assign(size_t(map.tile_offset.back()), 0.0f);
}

}  // namespace

void block_sparse_attention(const BlockSparseArgs& a) {
  const BlockPattern& p = *a.pattern;
  const int64_t L = p.padded_len(), d = a.head_dim, b = p.block();
  const int nb = p.num_blocks();
  const float scale = 1.0f / std::sqrt(float(d));

  const Tensor K = to_head_major(a.k, a.ldkv, L, a.heads, d);
  const Tensor V = to_head_major(a.v, a.ldkv, L, a.heads, d);
  if (a.capture) prepare_capture(*a.capture, p);

  parallel_for(0, int64_t(a.heads) * nb, [&](int64_t task) {
    const int h = int(task / nb), qb = int(task % nb);
    const std::vector<KeyBlock> keys = p.key_blocks(h, qb);
    const int64_t nk = int64_t(keys.size()), width = nk * b;
    const float* Kh = K.data() + h * L * d;
    const float* Vh = V.data() + h * L * d;

    // Keys and values of this query block, gathered in score-column order (global rows use the
    // head's whole K/V, which is already in order).
    thread_local std::vector<float> kbuf, vbuf, scores;
    const float* Kg = Kh;
    const float* Vg = Vh;
    const bool global_row = qb == 0 || qb == nb - 1;
    if (!global_row) {
      kbuf.resize(size_t(width * d));
      vbuf.resize(size_t(width * d));
      for (int64_t j = 0; j < nk; ++j) {
        const size_t src = size_t(keys[size_t(j)].block * b * d), n = size_t(b * d);
        std::memcpy(kbuf.data() + j * b * d, Kh + src, n * sizeof(float));
        std::memcpy(vbuf.data() + j * b * d, Vh + src, n * sizeof(float));
      }
      Kg = kbuf.data();
      Vg = vbuf.data();
    }

    scores.resize(size_t(b * width));
    float* S = scores.data();
    const float* Q = a.q + int64_t(qb) * b * a.ldq + h * d;
    ops::gemm(false, true, b, width, d, scale, Q, a.ldq, Kg, d, 0.0f, S, width);
    if (a.mask) {
      for (int64_t j = 0; j < nk; ++j) {
        const float* m = a.mask + keys[size_t(j)].block * b;
        for (int64_t t = 0; t < b; ++t) {
          if (m[t] != 0.0f) continue;
          for (int64_t i = 0; i < b; ++i) S[i * width + j * b + t] += -10000.0f;
        }
      }
    }
    ops::softmax_rows(S, b, width, width);
    if (a.capture)
      std::copy(S, S + b * width, a.capture->tiles.begin() + a.capture->tile_offset[size_t(h) * nb + qb]);

    float* out = a.ctx + int64_t(qb) * b * a.ldc + h * d;
    ops::gemm(false, false, b, d, width, 1.0f, S, width, Vg, d, 0.0f, out, a.ldc);
    if (a.mask)
      for (int64_t i = 0; i < b; ++i)
        if (a.mask[qb * b + i] == 0.0f) std::fill(out + i * a.ldc, out + i * a.ldc + d, 0.0f);
  });
}

}  // namespace bb::attn
