// The attention-analysis questions (rows, columns, block mass, regions, top-k, rollout, mass
// outside the sparse pattern) against brute force on dense matrices built with AttentionMap::row,
// on a real capture from a tiny random-weight model; and the encoder's per-layer callback.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/attention/attention_analysis.h"
#include "engine/core/error.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/prediction_compare.h"
#include "engine/models/random_weights.h"

using namespace bb;
using namespace bb::attn;

namespace {

constexpr int64_t kLen = 200;  // block 16: padded to 208 (13 blocks), sparse since 200 > (5+2*3)*16

const BigBirdModel& tiny_model() {
  static const BigBirdModel model = [] {
    ModelConfig c = bigbird_shape_config("tiny");
    return BigBirdModel(c, random_bigbird_mlm_parameters(c, 11));
  }();
  return model;
}

EncoderOutputs run(std::optional<AttentionType> type) {
  EncoderInputs in;
  in.input_ids = I64Tensor({1, kLen});
  for (int64_t i = 0; i < kLen; ++i) in.input_ids[i] = (i * 37 + 5) % tiny_model().config().vocab_size;
  EncoderOptions opt;
  opt.attention_type = type;
  opt.capture.enabled = true;
  return tiny_model().forward(in, opt);
}

const EncoderOutputs& sparse_run() {
  static const EncoderOutputs out = run(AttentionType::BlockSparse);
  return out;
}

// Dense [q][k] for one head, or the head mean / max, from AttentionMap::row.
std::vector<std::vector<float>> dense(const AttentionMap& m, HeadSelect s) {
  std::vector<std::vector<float>> out(size_t(m.query_len), std::vector<float>(size_t(m.key_len), 0.0f));
  for (int h = 0; h < m.heads; ++h) {
    if (s.kind == HeadSelect::One && h != s.head) continue;
    for (int64_t q = 0; q < m.query_len; ++q) {
      const std::vector<float> r = m.row(h, q);
      for (int64_t k = 0; k < m.key_len; ++k) {
        float& o = out[size_t(q)][size_t(k)];
        if (s.kind == HeadSelect::Max) o = std::max(o, r[size_t(k)]);
        else o += s.kind == HeadSelect::Mean ? r[size_t(k)] / float(m.heads) : r[size_t(k)];
      }
    }
  }
  return out;
}

const HeadSelect kSelections[] = {HeadSelect::one(0), HeadSelect::one(3), HeadSelect::mean(), HeadSelect::max()};

}  // namespace

TEST(AttentionAnalysis, CaptureIsBlockSparse) {
  const AttentionMap& m = sparse_run().attentions[0][0];
  ASSERT_TRUE(m.blocked);
  EXPECT_EQ(m.query_len, 208);
  EXPECT_EQ(m.num_blocks, 13);
}

TEST(AttentionAnalysis, RowsColumnsAndRegionsMatchDense) {
  const AttentionMap& m = sparse_run().attentions[1][0];
  for (HeadSelect s : kSelections) {
    const auto d = dense(m, s);
    for (int64_t q : {0, 17, 100, 207}) {
      const std::vector<float> row = attention_row(m, s, q);
      for (int64_t k = 0; k < m.key_len; ++k) ASSERT_NEAR(row[size_t(k)], d[size_t(q)][size_t(k)], 1e-6f);
    }
    for (int64_t k : {0, 31, 120, 199}) {
      const std::vector<float> col = attention_column(m, s, k);
      for (int64_t q = 0; q < m.query_len; ++q) ASSERT_NEAR(col[size_t(q)], d[size_t(q)][size_t(k)], 1e-6f);
    }
    std::vector<float> region(size_t(30 * 45));
    attention_region(m, s, 40, 70, 5, 50, region.data());
    for (int64_t q = 40; q < 70; ++q)
      for (int64_t k = 5; k < 50; ++k)
        ASSERT_NEAR(region[size_t((q - 40) * 45 + (k - 5))], d[size_t(q)][size_t(k)], 1e-6f);
  }
}

TEST(AttentionAnalysis, BlockMassIsMeanRowMassPerTile) {
  const AttentionMap& m = sparse_run().attentions[0][0];
  // Brute-force mass of one head's tile (qb, kb) over the real rows.
  auto head_mass = [&](int h, int qb, int kb) {
    const auto d = dense(m, HeadSelect::one(h));
    const int rows = qb == 12 ? int(kLen - 12 * 16) : 16;  // the last block has 8 real rows
    double sum = 0;
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < 16; ++t) sum += d[size_t(qb * 16 + r)][size_t(kb * 16 + t)];
    return sum / rows;
  };
  std::vector<std::vector<double>> per_head(4, std::vector<double>(13 * 13));
  for (int h = 0; h < 4; ++h)
    for (int qb = 0; qb < 13; ++qb)
      for (int kb = 0; kb < 13; ++kb) per_head[size_t(h)][size_t(qb * 13 + kb)] = head_mass(h, qb, kb);
  for (HeadSelect s : kSelections) {
    const std::vector<float> mass = block_mass(m, s, 16, kLen);
    ASSERT_EQ(mass.size(), size_t(13 * 13));
    for (size_t i = 0; i < mass.size(); ++i) {
      double want = 0;
      for (int h = 0; h < 4; ++h) {
        const double v = per_head[size_t(h)][i];
        if (s.kind == HeadSelect::One && h == s.head) want = v;
        if (s.kind == HeadSelect::Mean) want += v / 4;
        if (s.kind == HeadSelect::Max) want = std::max(want, v);  // the max over heads of each head's mass
      }
      ASSERT_NEAR(mass[i], want, 1e-5) << "selection " << int(s.kind) << " cell " << i;
    }
  }
  const std::vector<float> one = block_mass(m, HeadSelect::one(2), 16, kLen);
  for (int qb = 0; qb < 13; ++qb) {
    double sum = 0;
    for (int kb = 0; kb < 13; ++kb) sum += one[size_t(qb * 13 + kb)];
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  EXPECT_THROW(block_mass(m, HeadSelect::one(0), 32, kLen), Error);
  EXPECT_THROW(attention_row(m, HeadSelect::one(4), 0), Error);
}

TEST(AttentionAnalysis, TopKIsLargestFirstWithStableTies) {
  const std::vector<float> v = {0.1f, 0.5f, 0.2f, 0.5f, 0.9f, 0.0f};
  EXPECT_EQ(top_k(v, 3, 6), (std::vector<int64_t>{4, 1, 3}));
  EXPECT_EQ(top_k(v, 10, 3), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_TRUE(top_k(v, 0, 6).empty());
}

TEST(AttentionAnalysis, RolloutMatchesDenseMatrixProduct) {
  const auto& caps = sparse_run().attentions;
  std::vector<const AttentionMap*> layers = {&caps[0][0], &caps[1][0]};
  // A'_l over real tokens: head mean, rows renormalised over real keys, 0.5 A + 0.5 I.
  std::vector<std::vector<std::vector<double>>> a;
  for (const AttentionMap* m : layers) {
    const auto d = dense(*m, HeadSelect::mean());
    std::vector<std::vector<double>> r(kLen, std::vector<double>(kLen));
    for (int64_t i = 0; i < kLen; ++i) {
      double sum = 0;
      for (int64_t k = 0; k < kLen; ++k) sum += d[size_t(i)][size_t(k)];
      for (int64_t k = 0; k < kLen; ++k) r[size_t(i)][size_t(k)] = 0.5 * d[size_t(i)][size_t(k)] / sum + (i == k ? 0.5 : 0);
    }
    a.push_back(std::move(r));
  }
  // R = A'_1 · A'_0.
  std::vector<std::vector<double>> R(kLen, std::vector<double>(kLen, 0.0));
  for (int64_t i = 0; i < kLen; ++i)
    for (int64_t j = 0; j < kLen; ++j)
      for (int64_t k = 0; k < kLen; ++k) R[size_t(i)][size_t(k)] += a[1][size_t(i)][size_t(j)] * a[0][size_t(j)][size_t(k)];
  for (int64_t q : {0, 50, 199}) {
    const std::vector<float> row = rollout_row(layers, q, kLen);
    double sum = 0;
    for (int64_t k = 0; k < kLen; ++k) {
      ASSERT_NEAR(row[size_t(k)], R[size_t(q)][size_t(k)], 1e-5);
      sum += row[size_t(k)];
    }
    EXPECT_NEAR(sum, 1.0, 1e-4);
    const std::vector<float> col = rollout_column(layers, q, kLen);
    for (int64_t i = 0; i < kLen; ++i) ASSERT_NEAR(col[size_t(i)], R[size_t(i)][size_t(q)], 1e-5);
  }
  EXPECT_THROW(rollout_row(layers, kLen, kLen), Error);
  EXPECT_THROW(rollout_row({}, 0, kLen), Error);
}

TEST(AttentionAnalysis, MassOutsidePattern) {
  const EncoderOutputs full = run(AttentionType::OriginalFull);
  const AttentionMap& fm = full.attentions[1][0];
  ASSERT_FALSE(fm.blocked);
  PatternRequest req;
  req.seq_len = kLen;
  req.block = 16;
  req.heads = 4;
  req.layer = 1;
  req.max_position_embeddings = 1024;
  const LayerPattern lp = plan_layer(req);
  ASSERT_GT(lp.pattern.num_blocks(), 0);
  const std::vector<double> outside = mass_outside_pattern(fm, lp.pattern, kLen);
  ASSERT_EQ(outside.size(), 4u);
  for (int h = 0; h < 4; ++h) {
    const std::vector<uint8_t> mult = lp.pattern.multiplicity(h);
    double want = 0;
    for (int64_t q = 0; q < kLen; ++q)
      for (int64_t k = 0; k < kLen; ++k)
        if (mult[size_t(q / 16) * 13 + size_t(k / 16)] == 0) want += fm.dense[size_t((h * kLen + q) * kLen + k)];
    EXPECT_NEAR(outside[size_t(h)], want / kLen, 1e-9);
    EXPECT_GT(outside[size_t(h)], 0.05);  // random weights spread attention: much falls outside
  }
  // The sparse run's own attention, made dense, has (almost) nothing outside its pattern.
  const AttentionMap& sm = sparse_run().attentions[1][0];
  AttentionMap as_dense;
  as_dense.heads = sm.heads;
  as_dense.query_len = as_dense.key_len = sm.query_len;
  for (int h = 0; h < sm.heads; ++h) {
    const std::vector<float> d = sm.dense_head(h);
    as_dense.dense.insert(as_dense.dense.end(), d.begin(), d.end());
  }
  for (double v : mass_outside_pattern(as_dense, lp.pattern, kLen)) EXPECT_LT(v, 1e-6);
}

TEST(EncoderLayerCallback, ReportsEveryLayerStreamsCaptureAndCancels) {
  EncoderInputs in;
  in.input_ids = I64Tensor({1, kLen});
  for (int64_t i = 0; i < kLen; ++i) in.input_ids[i] = i % 100;
  EncoderOptions opt;
  opt.capture.enabled = true;
  opt.capture.layers = {1};
  std::vector<int> seen;
  std::vector<AttentionMap> taken;
  opt.on_layer_done = [&](int layer, int layers, std::vector<AttentionMap>* captured) {
    EXPECT_EQ(layers, 2);
    seen.push_back(layer);
    EXPECT_EQ(captured != nullptr, layer == 1);
    if (captured) taken = std::move(*captured);
  };
  const EncoderOutputs out = tiny_model().forward(in, opt);
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(taken[0].blocked);
  EXPECT_GT(taken[0].tiles.size(), 0u);

  struct Cancelled {};
  int calls = 0;
  opt.on_layer_done = [&](int, int, std::vector<AttentionMap>*) {
    ++calls;
    throw Cancelled{};
  };
  EXPECT_THROW(tiny_model().forward(in, opt), Cancelled);
  EXPECT_EQ(calls, 1);
}

TEST(PredictionCompare, TopPredictionsAndKl) {
  const float a[] = {1.0f, 3.0f, 2.0f, 3.0f};
  const auto top = top_predictions(a, 4, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  const double z = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(top[0].probability, std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(kl_divergence(a, a, 4), 0.0, 1e-12);
  const float b[] = {0.0f, 0.0f, 0.0f, 0.0f};
  double want = 0;
  for (float x : a) want += std::exp(double(x)) / z * (std::log(std::exp(double(x)) / z) - std::log(0.25));
  EXPECT_NEAR(kl_divergence(a, b, 4), want, 1e-9);
}
