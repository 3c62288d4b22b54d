// Attention kernels against a naive double-precision reference built from the plan's key lists.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/attention/plan.h"

using namespace bb::attn;

namespace {

struct Qkv {
  int64_t L;
  int heads, d;
  std::vector<float> q, k, v;
};

Qkv random_qkv(int64_t L, int heads, int d, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Qkv x{L, heads, d, {}, {}, {}};
  for (auto* t : {&x.q, &x.k, &x.v}) {
    t->resize(size_t(L * heads * d));
    for (auto& e : *t) e = n(g);
  }
  return x;
}

BlockPattern pattern(int64_t L, int b, int r, int heads, int layer, RandomBlocks mode) {
  TableParams p;
  p.seq_len = L;
  p.block = b;
  p.num_random = r;
  p.heads = heads;
  p.layer = layer;
  p.max_position_embeddings = 4096;
  p.mode = mode;
  return BlockPattern(L, b, r, heads, random_block_table(p));
}

// Reference: for each query, softmax over the listed key blocks (duplicates repeated), keys that
// are padding get -10000; context rows of padded queries are zero.
std::vector<double> reference_sparse(const Qkv& x, const BlockPattern& p, const std::vector<float>& mask) {
  const int64_t H = x.heads, d = x.d, ld = H * d, b = p.block();
  std::vector<double> ctx(size_t(x.L * ld), 0.0);
  for (int h = 0; h < H; ++h)
    for (int64_t q = 0; q < x.L; ++q) {
      if (mask[size_t(q)] == 0.0f) continue;
      std::vector<int64_t> keys;
      for (const KeyBlock& kb : p.key_blocks(h, int(q / b)))
        for (int64_t t = 0; t < b; ++t) keys.push_back(kb.block * b + t);
      std::vector<double> s(keys.size());
      double mx = -1e300;
      for (size_t j = 0; j < keys.size(); ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += double(x.q[size_t(q * ld + h * d + e)]) * x.k[size_t(keys[j] * ld + h * d + e)];
        s[j] = dot / std::sqrt(double(d)) + (mask[size_t(keys[j])] == 0.0f ? -10000.0 : 0.0);
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (double& e : s) sum += (e = std::exp(e - mx));
      for (size_t j = 0; j < keys.size(); ++j)
        for (int64_t e = 0; e < d; ++e) ctx[size_t(q * ld + h * d + e)] += s[j] / sum * x.v[size_t(keys[j] * ld + h * d + e)];
    }
  return ctx;
}

double max_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::fabs(double(a[i]) - b[i]));
  return w;
}

}  // namespace

class BlockSparse : public ::testing::TestWithParam<RandomBlocks> {};

TEST_P(BlockSparse, MatchesReferenceWithPaddingAndDuplicates) {
  const int64_t L = 16 * 13;  // 13 blocks of 16
  const int heads = 3, d = 8;
  Qkv x = random_qkv(L, heads, d, 11);
  std::vector<float> mask(size_t(L), 1.0f);
  for (int64_t i = L - 37; i < L; ++i) mask[size_t(i)] = 0.0f;  // padded tail, into the last two blocks
  BlockPattern p = pattern(L, 16, 2, heads, 3, GetParam());
  std::vector<float> ctx(size_t(L * heads * d), -1.0f);
  AttentionMap cap;
  BlockSparseArgs a;
  a.q = x.q.data();
  a.k = x.k.data();
  a.v = x.v.data();
  a.ldq = a.ldkv = a.ldc = heads * d;
  a.heads = heads;
  a.head_dim = d;
  a.pattern = &p;
  a.mask = mask.data();
  a.ctx = ctx.data();
  a.capture = &cap;
  block_sparse_attention(a);
  EXPECT_LT(max_diff(ctx, reference_sparse(x, p, mask)), 2e-5);

  // Captured rows are distributions over exactly the pattern (duplicates summed).
  for (int h = 0; h < heads; ++h)
    for (int64_t q = 0; q < L; q += 7) {
      std::vector<float> row = cap.row(h, q);
      double sum = 0;
      for (float e : row) sum += e;
      EXPECT_NEAR(sum, 1.0, 1e-5);
      const std::vector<uint8_t> m = p.multiplicity(h);
      for (int64_t k = 0; k < L; ++k) {
        if (m[size_t((q / 16) * p.num_blocks() + k / 16)] == 0) {
          EXPECT_EQ(row[size_t(k)], 0.0f);
        }
      }
      EXPECT_NEAR(cap.prob(h, q, 5), row[5], 1e-7);
    }
}

TEST_P(BlockSparse, SimulatedSparseEqualsBlockSparse) {
  const int64_t L = 16 * 12;
  const int heads = 2, d = 16;
  Qkv x = random_qkv(L, heads, d, 12);
  std::vector<float> mask(size_t(L), 1.0f);
  for (int64_t i = L - 20; i < L; ++i) mask[size_t(i)] = 0.0f;
  BlockPattern p = pattern(L, 16, 3, heads, 1, GetParam());
  std::vector<float> sparse(size_t(L * heads * d)), dense(size_t(L * heads * d));
  AttentionMap cap_sparse, cap_dense;
  BlockSparseArgs a;
  a.q = x.q.data();
  a.k = x.k.data();
  a.v = x.v.data();
  a.ldq = a.ldkv = a.ldc = heads * d;
  a.heads = heads;
  a.head_dim = d;
  a.pattern = &p;
  a.mask = mask.data();
  a.ctx = sparse.data();
  a.capture = &cap_sparse;
  block_sparse_attention(a);
  DenseAttentionArgs s;
  s.q = x.q.data();
  s.k = x.k.data();
  s.v = x.v.data();
  s.ldq = s.ldkv = s.ldc = heads * d;
  s.query_len = s.key_len = L;
  s.heads = heads;
  s.head_dim = d;
  s.key_mask = mask.data();
  s.simulated_pattern = &p;
  s.query_mask = mask.data();
  s.ctx = dense.data();
  s.capture = &cap_dense;
  dense_attention(s);
  double worst = 0;
  for (size_t i = 0; i < sparse.size(); ++i) worst = std::max(worst, double(std::fabs(sparse[i] - dense[i])));
  EXPECT_LT(worst, 1e-5);
  // Probabilities agree on every computed position of real queries.
  for (int h = 0; h < heads; ++h)
    for (int64_t q = 0; q < L - 20; ++q) {
      std::vector<float> r = cap_sparse.row(h, q);
      for (int64_t k = 0; k < L; ++k) ASSERT_NEAR(r[size_t(k)], cap_dense.prob(h, q, k), 1e-6) << h << " " << q << " " << k;
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, BlockSparse, ::testing::Values(RandomBlocks::HFTrain, RandomBlocks::HFEval, RandomBlocks::TF));

TEST(DenseAttention, CausalAndMaskedMatchReference) {
  const int64_t Lq = 5, Lk = 9;
  const int heads = 2, d = 4;
  Qkv qx = random_qkv(Lq, heads, d, 13), kx = random_qkv(Lk, heads, d, 14);
  std::vector<float> mask = {1, 1, 0, 1, 1, 1, 1, 1, 1};
  std::vector<float> ctx(size_t(Lq * heads * d));
  DenseAttentionArgs a;
  a.q = qx.q.data();
  a.k = kx.k.data();
  a.v = kx.v.data();
  a.ldq = a.ldkv = a.ldc = heads * d;
  a.query_len = Lq;
  a.key_len = Lk;
  a.heads = heads;
  a.head_dim = d;
  a.key_mask = mask.data();
  a.mask_penalty = -1e9f;
  a.causal = true;
  a.causal_offset = 4;  // query i sees keys 0..4+i
  a.ctx = ctx.data();
  dense_attention(a);
  for (int h = 0; h < heads; ++h)
    for (int64_t i = 0; i < Lq; ++i) {
      std::vector<double> w;
      std::vector<int64_t> ks;
      for (int64_t j = 0; j <= 4 + i; ++j)
        if (mask[size_t(j)] != 0) {
          double dot = 0;
          for (int e = 0; e < d; ++e) dot += double(qx.q[size_t(i * heads * d + h * d + e)]) * kx.k[size_t(j * heads * d + h * d + e)];
          w.push_back(dot / 2.0);
          ks.push_back(j);
        }
      double mx = *std::max_element(w.begin(), w.end()), sum = 0;
      for (double& e : w) sum += (e = std::exp(e - mx));
      for (int e = 0; e < d; ++e) {
        double ref = 0;
        for (size_t t = 0; t < ks.size(); ++t) ref += w[t] / sum * kx.v[size_t(ks[t] * heads * d + h * d + e)];
        EXPECT_NEAR(ctx[size_t(i * heads * d + h * d + e)], ref, 1e-5);
      }
    }
}

TEST(AttentionMemory, BlockSparseCaptureAt4096IsLinear) {
  // Base shape: 12 heads of 64, block 64, r 3. The capture holds only computed tiles.
  BlockPattern p = pattern(4096, 64, 3, 12, 0, RandomBlocks::HFTrain);
  const int64_t tiles = p.computed_block_pairs();
  EXPECT_EQ(tiles, 2 * 64 + 2 * 7 + 60 * 8);
  EXPECT_LT(double(tiles) / (64.0 * 64.0), 0.16);  // 15.2 % of the dense score matrix per head
  // And at 8192 the count doubles (linear), while dense would quadruple.
  BlockPattern p2 = pattern(8192, 64, 3, 12, 0, RandomBlocks::HFTrain);
  EXPECT_LT(double(p2.computed_block_pairs()) / double(tiles), 2.1);
}
