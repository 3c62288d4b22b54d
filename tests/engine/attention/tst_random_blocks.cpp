// Random-block tables against the spec's NumPy test vectors (bigbird-spec.md §3.6.7).
#include <gtest/gtest.h>

#include <numeric>

#include "engine/attention/numpy_random.h"
#include "engine/attention/plan.h"
#include "tests/engine/support/sha256.h"

using namespace bb::attn;

namespace {

RandomTable table(int64_t L, int heads, int layer, RandomBlocks mode) {
  TableParams p;
  p.seq_len = L;
  p.block = 64;
  p.num_random = 3;
  p.heads = heads;
  p.layer = layer;
  p.max_position_embeddings = 4096;
  p.mode = mode;
  return random_block_table(p);
}

int64_t sum(const RandomTable& t) { return std::accumulate(t.index.begin(), t.index.end(), int64_t(0)); }
std::string sha16(const RandomTable& t) {
  return bbtest::sha256_hex(t.index.data(), t.index.size() * sizeof(int32_t)).substr(0, 16);
}
std::vector<int32_t> row(const RandomTable& t, int h, int r) {
  return {t.at(h, r, 0), t.at(h, r, 1), t.at(h, r, 2)};
}

}  // namespace

TEST(NumpyRandom, MatchesKnownMt19937Stream) {
  // np.random.seed(0); np.random.randint(0, 2**32, dtype=np.uint64) draws use the raw stream;
  // the first raw MT19937 outputs for seed 0 (mt19937 reference): 2357136044, 2546248239, 3071714933.
  NumpyRandom r(0);
  EXPECT_EQ(r.next_u32(), 2357136044u);
  EXPECT_EQ(r.next_u32(), 2546248239u);
  EXPECT_EQ(r.next_u32(), 3071714933u);
}

TEST(NumpyRandom, PermutationOfSmallArraysConsumesNoDraws) {
  NumpyRandom a(5), b(5);
  EXPECT_EQ(a.permutation({}).size(), 0u);
  EXPECT_EQ(a.permutation({7}), std::vector<int32_t>{7});
  EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(RandomBlocks, OldPlan4096Base) {
  RandomTable t = table(4096, 12, 0, RandomBlocks::HFTrain);
  ASSERT_EQ(t.rows, 62);
  EXPECT_EQ(sum(t), 17877);
  EXPECT_EQ(sha16(t), "c46970d98425a1ce");
  EXPECT_EQ(row(t, 0, 0), (std::vector<int32_t>{9, 14, 7}));
  EXPECT_EQ(row(t, 0, 1), (std::vector<int32_t>{9, 6, 7}));
  EXPECT_EQ(row(t, 0, 2), (std::vector<int32_t>{10, 5, 14}));
  EXPECT_EQ(row(t, 0, 3), (std::vector<int32_t>{6, 8, 12}));
  EXPECT_EQ(row(t, 0, 4), (std::vector<int32_t>{2, 13, 1}));
  EXPECT_EQ(row(t, 0, 61), (std::vector<int32_t>{6, 12, 5}));
  EXPECT_EQ(row(t, 11, 0), (std::vector<int32_t>{7, 5, 13}));
  // TF draws the same table at 4096.
  EXPECT_EQ(table(4096, 12, 0, RandomBlocks::TF).index, t.index);
}

TEST(RandomBlocks, OldPlan4096LargeHeads) {
  RandomTable t = table(4096, 16, 0, RandomBlocks::HFTrain);
  EXPECT_EQ(sum(t), 23652);
  EXPECT_EQ(sha16(t), "2b2a1f04ca68bf0d");
  EXPECT_EQ(row(t, 15, 0), (std::vector<int32_t>{4, 15, 8}));
}

TEST(RandomBlocks, PerLayerBase4096) {
  const std::vector<std::pair<int64_t, std::string>> expected = {
      {17877, "c46970d98425a1ce"}, {17798, "9325d87c0513b86d"}, {17750, "1ce28ca45679bafa"},
      {17895, "5f132b5acce89b40"}, {18067, "965bc48aa9b37e6c"}, {17685, "ee12a6752ff3a9da"},
      {17754, "4ac07ebf9df15ae4"}, {17756, "48f081369212850d"}, {17871, "15c83970b4da2bfa"},
      {18092, "3cba1caa258b0f6b"}, {18115, "e7641aed627932bf"}, {17680, "fd5862370db994a1"}};
  for (int layer = 0; layer < 12; ++layer) {
    RandomTable t = table(4096, 12, layer, RandomBlocks::HFTrain);
    EXPECT_EQ(sum(t), expected[size_t(layer)].first) << "layer " << layer;
    EXPECT_EQ(sha16(t), expected[size_t(layer)].second) << "layer " << layer;
  }
}

TEST(RandomBlocks, PerLayerLarge4096) {
  const std::vector<std::pair<int64_t, std::string>> expected = {
      {23652, "2b2a1f04ca68bf0d"}, {23695, "b76470a917cce377"}, {23670, "29bdd96812ca0f85"},
      {23934, "c75e3775ceb11b21"}, {23949, "dd1c92dedb3d41d2"}, {23829, "856b02534844ba1a"},
      {23528, "dae3e9747e15009c"}, {23744, "ae103c5ea3f0b7b2"}, {23701, "733fecf3c67f971f"},
      {23894, "bd4c629de93f0b75"}, {24190, "7c3f94b38132b807"}, {23515, "81d0a99376480326"},
      {23867, "371d3a162c8a0858"}, {23722, "88d672789b064020"}, {24075, "e4e2900d75432da1"},
      {23708, "5fdf6cf908ba35bb"}, {24175, "fd3450e4e0c68d6e"}, {23707, "d50d07e727eb4f53"},
      {23535, "2e24c4877548a7df"}, {23543, "22319641f98fd465"}, {24171, "703a229f4c9c2eeb"},
      {23614, "5911d25e2fd16e3f"}, {23722, "2fe492ed9c01247c"}, {24180, "d1c90e499064a76c"}};
  for (int layer = 0; layer < 24; ++layer) {
    RandomTable t = table(4096, 16, layer, RandomBlocks::HFTrain);
    EXPECT_EQ(sum(t), expected[size_t(layer)].first) << "layer " << layer;
    EXPECT_EQ(sha16(t), expected[size_t(layer)].second) << "layer " << layer;
  }
}

TEST(RandomBlocks, Length2048DiffersBetweenHfAndTf) {
  RandomTable hf = table(2048, 12, 0, RandomBlocks::HFTrain);
  EXPECT_EQ(sum(hf), 5473);
  EXPECT_EQ(sha16(hf), "ab8baf030537d4a1");
  EXPECT_EQ(row(hf, 0, 0), (std::vector<int32_t>{4, 6, 7}));
  EXPECT_EQ(row(hf, 0, 1), (std::vector<int32_t>{4, 8, 5}));
  EXPECT_EQ(row(hf, 0, 2), (std::vector<int32_t>{8, 1, 5}));
  EXPECT_EQ(row(hf, 0, 3), (std::vector<int32_t>{9, 2, 1}));
  EXPECT_EQ(row(hf, 0, 4), (std::vector<int32_t>{9, 7, 2}));
  EXPECT_EQ(row(hf, 0, hf.rows - 1), (std::vector<int32_t>{5, 3, 1}));
  EXPECT_EQ(row(hf, 11, 0), (std::vector<int32_t>{6, 4, 3}));

  RandomTable tf = table(2048, 12, 0, RandomBlocks::TF);
  EXPECT_EQ(sum(tf), 8463);
  EXPECT_EQ(sha16(tf), "b09fda16c53ddb99");
  EXPECT_EQ(row(tf, 0, tf.rows - 1), (std::vector<int32_t>{2, 4, 12}));
  EXPECT_EQ(row(tf, 11, 0), (std::vector<int32_t>{7, 5, 13}));

  const std::vector<int64_t> layer_sums = {5473, 5344, 5447, 5466, 5438, 5396, 5324, 5386, 5391, 5249, 5509, 5398};
  for (int layer = 0; layer < 12; ++layer)
    EXPECT_EQ(sum(table(2048, 12, layer, RandomBlocks::HFTrain)), layer_sums[size_t(layer)]) << "layer " << layer;
}

TEST(RandomBlocks, Length1024And768) {
  RandomTable t1024 = table(1024, 12, 0, RandomBlocks::HFTrain);
  EXPECT_EQ(sum(t1024), 3975);
  EXPECT_EQ(sha16(t1024), "868d9dcb71bb7057");
  EXPECT_EQ(row(t1024, 0, t1024.rows - 1), (std::vector<int32_t>{2, 6, 5}));
  RandomTable t768 = table(768, 12, 0, RandomBlocks::HFTrain);
  EXPECT_EQ(sum(t768), 1772);
  EXPECT_EQ(sha16(t768), "66f309a813e347b3");
  EXPECT_EQ(row(t768, 0, t768.rows - 1), (std::vector<int32_t>{2, 5, 8}));
  EXPECT_EQ(row(t768, 11, 0), (std::vector<int32_t>{6, 4, 3}));
}

TEST(RandomBlocks, HfEvalIsAllZeros) {
  RandomTable t = table(4096, 12, 3, RandomBlocks::HFEval);
  EXPECT_EQ(t.rows, 62);
  EXPECT_EQ(sum(t), 0);
}
