// TensorFlow tensor bundles: every fixture under tests/data/checkpoints/tensorflow gives the
// entries of its expected.json (keys, dtypes, shapes, offsets, CRCs, values), TF2 variables are
// served under their object-graph names, and written bundles exercise snappy blocks, shards,
// big-endian data and partitioned variables. Corrupt input fails with the file and reason.
#include <gtest/gtest.h>

#include "engine/io/crc32c.h"
#include "engine/io/tf_bundle.h"
#include "tests/engine/io/checkpoint_test_util.h"
#include "tests/engine/io/io_test_util.h"
#include "tests/engine/io/tf_bundle_test_writer.h"

using namespace bb;
using bb::testing::checkpoint_data;
using bb::testing::error_of;

TEST(Crc32c, KnownVectorAndMask) {
  const std::string s = "123456789";
  EXPECT_EQ(io::crc32c(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xE3069283u);
  for (uint32_t c : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) EXPECT_EQ(io::crc32c_unmask(io::crc32c_mask(c)), c);
  // Split computation equals one pass (the SSE4.2 and table paths agree at every length).
  std::string big(1000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i * 7);
  const auto* p = reinterpret_cast<const uint8_t*>(big.data());
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u})
    EXPECT_EQ(io::crc32c_extend(io::crc32c(p, cut), p + cut, big.size() - cut), io::crc32c(p, big.size()));
}

TEST(TfBundle, FixturesMatchExpectedJson) {
  const nlohmann::json exp = bb::testing::load_json(checkpoint_data("tensorflow/expected.json"));
  ASSERT_EQ(exp.size(), 9u);
  for (const auto& [prefix, want] : exp.items()) {
    SCOPED_TRACE(prefix);
    const std::string path = checkpoint_data("tensorflow/" + prefix);
    auto b = io::TfBundle::open(path + ".index");
    EXPECT_EQ(b->num_shards(), want["header"]["num_shards"].get<int>());
    EXPECT_EQ(b->entries().size(), want["num_entries"].get<size_t>());
    const bool index_only = prefix.rfind("index_only/", 0) == 0;
    EXPECT_EQ(b->missing_shards().empty(), !index_only);
    for (const auto& [key, t] : want["tensors"].items()) {
      SCOPED_TRACE(key);
      const io::TfEntry& e = b->entry(key);
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.tf_dtype, t["dtype"].get<int>());
      EXPECT_EQ(std::string(io::tf_dtype_name(e.tf_dtype)), t["dtype_name"].get<std::string>());
      EXPECT_EQ(e.shape, t["shape"].get<Shape>());
      EXPECT_EQ(e.shard, t["shard_id"].get<int>());
      EXPECT_EQ(e.offset, t["offset"].get<uint64_t>());
      EXPECT_EQ(e.size, t["size"].get<uint64_t>());
      EXPECT_EQ(e.crc_masked, t["crc32c_masked"].get<uint32_t>());
      if (index_only) {
        if (e.supported) {
          const std::string err = error_of([&] { b->read_bytes(key); });
          EXPECT_NE(err.find("is missing"), std::string::npos) << err;
        }
        continue;
      }
      if (t.contains("values")) {
        const std::vector<double> got = bb::testing::decode_values(e.dtype, b->read_bytes(key));
        ASSERT_GE(got.size(), t["values"].size());
        for (size_t i = 0; i < t["values"].size(); ++i) EXPECT_EQ(got[i], t["values"][i].get<double>()) << i;
      }
      if (t.contains("object_graph_attributes")) {
        EXPECT_TRUE(b->has_object_graph());
        for (const auto& a : t["object_graph_attributes"]) {
          const io::TfEntry& v = b->entry(a["checkpoint_key"].get<std::string>());
          // Served under the TF1-style full name unless two variables share it (Keras metrics).
          int same = 0;
          for (const auto& o : t["object_graph_attributes"]) same += o["full_name"] == a["full_name"];
          EXPECT_EQ(v.name, same == 1 ? a["full_name"].get<std::string>() : v.key);
        }
      }
    }
  }
}

TEST(TfBundle, SnappyIndexBlockOfMinigo) {
  auto b = io::TfBundle::open(checkpoint_data("tensorflow/index_only/minigo.index"));
  EXPECT_EQ(b->entries().size(), 333u);
  EXPECT_EQ(b->entry("global_step").tf_dtype, 9);
}

TEST(TfBundle, Tf2NamesAndOtherEntries) {
  auto b = io::TfBundle::open(checkpoint_data("tensorflow/tfrust_keras_single_input/variables"));
  ASSERT_NE(b->find("test_in/kernel"), nullptr);
  EXPECT_EQ(b->find("test_in/kernel")->shape, (Shape{5, 5}));
  ASSERT_NE(b->find("Adam/test_in/kernel/m"), nullptr);
  const auto others = b->other_entries();
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0], "_CHECKPOINTABLE_OBJECT_GRAPH (DT_STRING)");
  const Tensor w = b->read_f32("test_in/kernel");
  EXPECT_FLOAT_EQ(w[0], 0.08318070322275162f);
}

TEST(TfBundle, CorruptIndexAndDataAreRefused) {
  bb::testing::TempDir dir;
  const std::string src = checkpoint_data("tensorflow/tfrust_regression_tf1_names/variables");
  std::vector<uint8_t> index = bb::testing::read_bytes(src + ".index");
  const std::vector<uint8_t> data = bb::testing::read_bytes(src + ".data-00000-of-00001");
  const std::string p = dir.file("v");
  bb::testing::write_bytes(p + ".data-00000-of-00001", data);

  std::vector<uint8_t> flipped = index;
  flipped[20] ^= 1;  // inside the data block
  bb::testing::write_bytes(p + ".index", flipped);
  std::string err = error_of([&] { io::TfBundle::open(p); });
  EXPECT_NE(err.find(p + ".index: data block at 0: block CRC-32C mismatch"), std::string::npos) << err;

  for (size_t n = 0; n < index.size(); ++n) {  // every truncation: an error, never a crash
    bb::testing::write_bytes(p + ".index", std::vector<uint8_t>(index.begin(), index.begin() + long(n)));
    EXPECT_NE(error_of([&] { io::TfBundle::open(p)->read_bytes("w"); }), "<no error>") << n;
  }

  bb::testing::write_bytes(p + ".index", index);
  std::vector<uint8_t> bad = data;
  bad[5] ^= 0x10;
  bb::testing::write_bytes(p + ".data-00000-of-00001", bad);
  err = error_of([&] { io::TfBundle::open(p)->read_f32("w"); });
  EXPECT_NE(err.find(p + ": tensor \"w\": CRC-32C mismatch"), std::string::npos) << err;
  bb::testing::write_bytes(p + ".data-00000-of-00001", std::vector<uint8_t>(data.begin(), data.begin() + 6));
  err = error_of([&] { io::TfBundle::open(p)->read_f32("w"); });
  EXPECT_NE(err.find("lie outside"), std::string::npos) << err;
}

TEST(TfBundle, SliceKeyEncodingMatchesTensorFlow) {
  // checkpoint-formats.md §3.7: foo with extents {full, [5,+5)}.
  const std::string key = io::tf_slice_key("foo", io::TfSlice{{0, 5}, {-1, 5}});
  EXPECT_EQ(key, std::string("\x00\x66\x6F\x6F\x00\x01\x01\x02\x80\x7F\x85\x85", 12));
  // Two-byte signed values (ordered_code.cc: header bits 110, 13 payload bits): 100, 1000.
  const std::string big = io::tf_slice_key("a", io::TfSlice{{100}, {1000}});
  EXPECT_EQ(big.substr(big.size() - 4), std::string("\xc0\x64\xc3\xe8", 4));
}

TEST(TfBundle, WrittenBundlesWithSnappyShardsBigEndianAndSlices) {
  bb::testing::TempDir dir;
  for (bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian);
    bb::testing::TfBundleWriter w;
    w.snappy = true;
    w.num_shards = 2;
    w.big_endian = big_endian;
    std::vector<float> full(12);
    for (int i = 0; i < 12; ++i) full[size_t(i)] = float(i) + 0.5f;
    auto encode = [&](std::vector<float> v) {
      std::string s(reinterpret_cast<const char*>(v.data()), v.size() * 4);
      if (big_endian)
        for (size_t i = 0; i < s.size(); i += 4) std::reverse(s.begin() + long(i), s.begin() + long(i) + 4);
      return s;
    };
    bb::testing::TfTensorSpec plain{"layer/kernel", 1, {3, 4}, encode(full), 1, {}, {}};
    w.add(plain);
    // Partitioned [3,4] variable: rows [0,1) and [1,3), full columns.
    bb::testing::TfTensorSpec part{"emb", 1, {3, 4}, "", 0, {io::TfSlice{{0, 0}, {1, -1}}, io::TfSlice{{1, 0}, {2, -1}}}, {}};
    part.slice_bytes = {encode({full.begin(), full.begin() + 4}), encode({full.begin() + 4, full.end()})};
    w.add(part);
    const std::string prefix = dir.file(big_endian ? "be" : "le");
    w.write(prefix);

    auto b = io::TfBundle::open(prefix);
    EXPECT_EQ(b->num_shards(), 2);
    EXPECT_EQ(b->big_endian(), big_endian);
    EXPECT_EQ(b->tensors().size(), 2u);
    for (const char* name : {"layer/kernel", "emb"}) {
      const Tensor t = b->read_f32(name);
      ASSERT_EQ(t.shape(), (Shape{3, 4})) << name;
      for (int i = 0; i < 12; ++i) EXPECT_EQ(t[i], full[size_t(i)]) << name << " " << i;
    }
  }
}
