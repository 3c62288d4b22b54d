#include "engine/attention/attention_map.h"

#include <algorithm>

namespace bb::attn {

float AttentionMap::prob(int h, int64_t q, int64_t k) const {
  if (!blocked) return dense[size_t((h * query_len + q) * key_len + k)];
  const int64_t qb = q / block, kb = k / block, row_in_tile = q % block;
  const size_t idx = size_t(h) * num_blocks + size_t(qb);
  const int64_t nk = list_offset[idx + 1] - list_offset[idx];
  const float* tile = tiles.data() + tile_offset[idx];
  float p = 0.0f;
  for (int64_t j = 0; j < nk; ++j)
    if (key_blocks[size_t(list_offset[idx] + j)] == kb) p += tile[row_in_tile * nk * block + j * block + k % block];
  return p;
}

std::vector<float> AttentionMap::row(int h, int64_t q) const {
  std::vector<float> out(size_t(key_len), 0.0f);
  if (!blocked) {
    const float* src = dense.data() + (h * query_len + q) * key_len;
    std::copy(src, src + key_len, out.begin());
    return out;
  }
  const int64_t qb = q / block, row_in_tile = q % block;
  const size_t idx = size_t(h) * num_blocks + size_t(qb);
  const int64_t nk = list_offset[idx + 1] - list_offset[idx];
  const float* tile = tiles.data() + tile_offset[idx] + row_in_tile * nk * block;
  for (int64_t j = 0; j < nk; ++j) {
    const int64_t kb = key_blocks[size_t(list_offset[idx] + j)];
    for (int64_t t = 0; t < block; ++t) out[size_t(kb * block + t)] += tile[j * block + t];
  }
  return out;
}

std::vector<float> AttentionMap::dense_head(int h) const {
  std::vector<float> out;
  out.reserve(size_t(query_len * key_len));
  for (int64_t q = 0; q < query_len; ++q) {
    std::vector<float> r = row(h, q);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

size_t AttentionMap::memory_bytes() const {
  return dense.size() * sizeof(float) + tiles.size() * sizeof(float) + key_blocks.size() * sizeof(int32_t) +
         (list_offset.size() + tile_offset.size()) * sizeof(int64_t);
}

bool CaptureRequest::wants(int layer) const {
  return enabled && (layers.empty() || std::find(layers.begin(), layers.end(), layer) != layers.end());
}

}  // namespace bb::attn
