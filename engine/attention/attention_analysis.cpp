#include "engine/attention/attention_analysis.h"

#include <algorithm>
#include <numeric>

#include "engine/core/error.h"

namespace bb::attn {

namespace {

void check_head(const AttentionMap& m, HeadSelect s) {
  if (m.heads <= 0) throw Error("attention map is empty");
  if (s.kind == HeadSelect::One && (s.head < 0 || s.head >= m.heads))
    throw Error("head " + std::to_string(s.head) + " is outside 0.." + std::to_string(m.heads - 1));
}

// One captured tile of a blocked map: the key-block list and the [block, nk*block] probabilities.
struct Tile {
  const int32_t* keys;
  int64_t nk;
  const float* data;
};

Tile tile(const AttentionMap& m, int h, int64_t qb) {
  const size_t idx = size_t(h) * size_t(m.num_blocks) + size_t(qb);
  return {m.key_blocks.data() + m.list_offset[idx], m.list_offset[idx + 1] - m.list_offset[idx],
          m.tiles.data() + m.tile_offset[idx]};
}

// Head h's probabilities from query q to keys [k0, k1), added into out (duplicate key blocks summed).
void add_head_row(const AttentionMap& m, int h, int64_t q, int64_t k0, int64_t k1, float* out) {
  if (!m.blocked) {
    const float* src = m.dense.data() + (int64_t(h) * m.query_len + q) * m.key_len;
    for (int64_t k = k0; k < k1; ++k) out[k - k0] += src[k];
    return;
  }
  const int64_t b = m.block;
  const Tile t = tile(m, h, q / b);
  const float* row = t.data + (q % b) * t.nk * b;
  for (int64_t j = 0; j < t.nk; ++j) {
    const int64_t first = int64_t(t.keys[j]) * b;
    const int64_t lo = std::max(first, k0), hi = std::min(first + b, k1);
    for (int64_t k = lo; k < hi; ++k) out[k - k0] += row[j * b + (k - first)];
  }
}

// Head h's probabilities from queries [q0, q1) to key k, added into out.
void add_head_column(const AttentionMap& m, int h, int64_t k, int64_t q0, int64_t q1, float* out) {
  if (!m.blocked) {
    for (int64_t q = q0; q < q1; ++q) out[q - q0] += m.dense[size_t((int64_t(h) * m.query_len + q) * m.key_len + k)];
    return;
  }
  const int64_t b = m.block, kb = k / b, kt = k % b;
  for (int64_t qb = q0 / b; qb * b < q1; ++qb) {
    const Tile t = tile(m, h, qb);
    for (int64_t j = 0; j < t.nk; ++j) {
      if (t.keys[j] != kb) continue;
      for (int64_t q = std::max(q0, qb * b); q < std::min(q1, (qb + 1) * b); ++q)
        out[q - q0] += t.data[(q - qb * b) * t.nk * b + j * b + kt];
    }
  }
}

// Applies `add(h, buffer)` for the selected heads and combines into out[0, n).
template <class AddFn>
void combine_heads(const AttentionMap& m, HeadSelect s, int64_t n, float* out, AddFn add) {
  std::fill(out, out + n, 0.0f);
  if (s.kind == HeadSelect::One) {
    add(s.head, out);
    return;
  }
  std::vector<float> one(static_cast<size_t>(n));
  for (int h = 0; h < m.heads; ++h) {
    std::fill(one.begin(), one.end(), 0.0f);
    add(h, one.data());
    if (s.kind == HeadSelect::Mean)
      for (int64_t i = 0; i < n; ++i) out[i] += one[size_t(i)] / float(m.heads);
    else
      for (int64_t i = 0; i < n; ++i) out[i] = std::max(out[i], one[size_t(i)]);
  }
}

// Calls fn(k, p) for every captured probability of head h's row q with k < real_len
// (duplicate key blocks give several calls for one k).
template <class Fn>
void for_each_in_row(const AttentionMap& m, int h, int64_t q, int64_t real_len, Fn fn) {
  if (!m.blocked) {
    const float* src = m.dense.data() + (int64_t(h) * m.query_len + q) * m.key_len;
    for (int64_t k = 0; k < real_len; ++k) fn(k, src[k]);
    return;
  }
  const int64_t b = m.block;
  const Tile t = tile(m, h, q / b);
  const float* row = t.data + (q % b) * t.nk * b;
  for (int64_t j = 0; j < t.nk; ++j) {
    const int64_t first = int64_t(t.keys[j]) * b, end = std::min(first + b, real_len);
    for (int64_t k = first; k < end; ++k) fn(k, row[j * b + (k - first)]);
  }
}

// Sum over heads of row q restricted to real keys (the renormaliser of the rollout's head mean).
double real_row_sum(const AttentionMap& m, int64_t q, int64_t real_len) {
  double sum = 0;
  for (int h = 0; h < m.heads; ++h) for_each_in_row(m, h, q, real_len, [&](int64_t, float p) { sum += p; });
  return sum;
}

void check_rollout(const std::vector<const AttentionMap*>& layers, int64_t index, int64_t real_len) {
  if (layers.empty()) throw Error("attention rollout needs at least one captured layer");
  for (const AttentionMap* m : layers) {
    if (!m || m->heads <= 0) throw Error("attention rollout: a layer has no captured attention");
    if (m->query_len != m->key_len) throw Error("attention rollout needs self-attention maps");
    if (real_len > m->query_len || m->query_len != layers.front()->query_len)
      throw Error("attention rollout: the layers disagree on the sequence length");
  }
  if (real_len <= 0 || index < 0 || index >= real_len)
    throw Error("attention rollout: token " + std::to_string(index) + " is outside 0.." + std::to_string(real_len - 1));
}

}  // namespace

std::vector<float> attention_row(const AttentionMap& m, HeadSelect s, int64_t q) {
  check_head(m, s);
  if (q < 0 || q >= m.query_len) throw Error("query " + std::to_string(q) + " is outside the captured attention");
  std::vector<float> out(size_t(m.key_len));
  combine_heads(m, s, m.key_len, out.data(), [&](int h, float* dst) { add_head_row(m, h, q, 0, m.key_len, dst); });
  return out;
}

std::vector<float> attention_column(const AttentionMap& m, HeadSelect s, int64_t k) {
  check_head(m, s);
  if (k < 0 || k >= m.key_len) throw Error("key " + std::to_string(k) + " is outside the captured attention");
  std::vector<float> out(size_t(m.query_len));
  combine_heads(m, s, m.query_len, out.data(),
                [&](int h, float* dst) { add_head_column(m, h, k, 0, m.query_len, dst); });
  return out;
}

void attention_region(const AttentionMap& m, HeadSelect s, int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                      float* out) {
  check_head(m, s);
  if (q0 < 0 || q1 > m.query_len || q0 > q1 || k0 < 0 || k1 > m.key_len || k0 > k1)
    throw Error("attention region is outside the captured attention");
  const int64_t w = k1 - k0;
  for (int64_t q = q0; q < q1; ++q)
    combine_heads(m, s, w, out + (q - q0) * w, [&](int h, float* dst) { add_head_row(m, h, q, k0, k1, dst); });
}

std::vector<float> block_mass(const AttentionMap& m, HeadSelect s, int block, int64_t real_len) {
  check_head(m, s);
  if (block <= 0) throw Error("block_mass: block must be positive");
  if (m.blocked && block != m.block) throw Error("block_mass: a blocked map can only be summarised by its own block");
  real_len = std::clamp<int64_t>(real_len, 0, m.query_len);
  const int64_t nb = (m.key_len + block - 1) / block, nq = (m.query_len + block - 1) / block;
  std::vector<float> out(size_t(nq * nb), 0.0f);
  std::vector<float> one(out.size());
  auto add_head = [&](int h, float* dst) {
    for (int64_t qb = 0; qb < nq; ++qb) {
      const int64_t rows = std::min<int64_t>(block, real_len - qb * block);
      if (rows <= 0) break;
      float* mass = dst + qb * nb;
      if (m.blocked) {
        const Tile t = tile(m, h, qb);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < t.nk; ++j) {
            const float* p = t.data + r * t.nk * block + j * block;
            mass[t.keys[j]] += std::accumulate(p, p + block, 0.0f);
          }
      } else {
        for (int64_t r = 0; r < rows; ++r) {
          const float* p = m.dense.data() + (int64_t(h) * m.query_len + qb * block + r) * m.key_len;
          for (int64_t k = 0; k < m.key_len; ++k) mass[k / block] += p[k];
        }
      }
      for (int64_t kb = 0; kb < nb; ++kb) mass[kb] /= float(rows);
    }
  };
  combine_heads(m, s, int64_t(out.size()), out.data(), add_head);
  return out;
}

std::vector<int64_t> top_k(const std::vector<float>& values, int k, int64_t limit) {
  limit = std::clamp<int64_t>(limit, 0, int64_t(values.size()));
  std::vector<int64_t> idx(static_cast<size_t>(limit));
  std::iota(idx.begin(), idx.end(), 0);
  const size_t n = size_t(std::clamp<int64_t>(k, 0, limit));
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int64_t a, int64_t b) {
    return values[size_t(a)] != values[size_t(b)] ? values[size_t(a)] > values[size_t(b)] : a < b;
  });
  idx.resize(n);
  return idx;
}

std::vector<float> rollout_row(const std::vector<const AttentionMap*>& layers, int64_t q, int64_t real_len) {
  check_rollout(layers, q, real_len);
  std::vector<float> v(static_cast<size_t>(real_len), 0.0f), next(static_cast<size_t>(real_len));
  v[size_t(q)] = 1.0f;
  // v <- v · A'_l from the top layer down: next[k] = sum_i v[i] * A'[i, k].
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    const AttentionMap& m = **it;
    std::fill(next.begin(), next.end(), 0.0f);
    for (int64_t i = 0; i < real_len; ++i) {
      if (v[size_t(i)] == 0.0f) continue;
      const double sum = real_row_sum(m, i, real_len);
      next[size_t(i)] += 0.5f * v[size_t(i)];
      if (sum <= 0) continue;
      const float w = float(0.5 * v[size_t(i)] / sum);
      for (int h = 0; h < m.heads; ++h) for_each_in_row(m, h, i, real_len, [&](int64_t k, float p) { next[size_t(k)] += w * p; });
    }
    v.swap(next);
  }
  return v;
}

std::vector<float> rollout_column(const std::vector<const AttentionMap*>& layers, int64_t k, int64_t real_len) {
  check_rollout(layers, k, real_len);
  std::vector<float> u(static_cast<size_t>(real_len), 0.0f), next(static_cast<size_t>(real_len));
  u[size_t(k)] = 1.0f;
  // u <- A'_l · u from the first layer up: next[i] = sum_k A'[i, k] * u[k].
  for (const AttentionMap* m : layers) {
    for (int64_t i = 0; i < real_len; ++i) {
      double dot = 0, sum = 0;
      for (int h = 0; h < m->heads; ++h)
        for_each_in_row(*m, h, i, real_len, [&](int64_t j, float p) {
          sum += p;
          dot += double(p) * u[size_t(j)];
        });
      next[size_t(i)] = float(0.5 * (sum > 0 ? dot / sum : 0.0) + 0.5 * u[size_t(i)]);
    }
    u.swap(next);
  }
  return u;
}

std::vector<double> mass_outside_pattern(const AttentionMap& dense, const BlockPattern& pattern, int64_t real_len) {
  if (dense.blocked) throw Error("mass_outside_pattern needs a dense (full-attention) capture");
  if (dense.heads != pattern.heads())
    throw Error("mass_outside_pattern: the map has " + std::to_string(dense.heads) + " heads, the pattern " +
                std::to_string(pattern.heads()));
  real_len = std::min({real_len, dense.query_len, dense.key_len});
  const int b = pattern.block(), nb = pattern.num_blocks();
  if (int64_t(nb) * b < real_len) throw Error("mass_outside_pattern: the pattern is shorter than the input");
  std::vector<double> out(size_t(dense.heads), 0.0);
  if (real_len <= 0) return out;
  for (int h = 0; h < dense.heads; ++h) {
    const std::vector<uint8_t> mult = pattern.multiplicity(h);
    double total = 0;
    for (int64_t q = 0; q < real_len; ++q) {
      const uint8_t* computed = mult.data() + size_t(q / b) * size_t(nb);
      const float* p = dense.dense.data() + (int64_t(h) * dense.query_len + q) * dense.key_len;
      double outside = 0;
      for (int64_t k = 0; k < real_len; ++k)
        if (computed[k / b] == 0) outside += p[k];
      total += outside;
    }
    out[size_t(h)] = total / double(real_len);
  }
  return out;
}

}  // namespace bb::attn
