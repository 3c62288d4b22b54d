// PyTorch torch.save files: every fixture under tests/data/checkpoints/pytorch gives the tensors of
// its expected.json (dtype, shape, values, views of shared storages); hostile or broken files are
// refused with a one-line error naming the file and the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/io/torch_checkpoint.h"
#include "tests/engine/io/checkpoint_test_util.h"
#include "tests/engine/io/io_test_util.h"

using namespace bb;
using bb::testing::checkpoint_data;
using bb::testing::error_of;

namespace {

void expect_values(const std::string& what, const std::vector<double>& got, const nlohmann::json& want, bool all) {
  if (all) {
    ASSERT_EQ(got.size(), want.size()) << what;
  }
  ASSERT_GE(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const double w = want[i].is_boolean() ? double(want[i].get<bool>()) : want[i].get<double>();
    EXPECT_EQ(got[i], w) << what << " element " << i;
  }
}

void check_file(const std::string& path, const nlohmann::json& expected_tensors) {
  auto ckpt = io::TorchCheckpoint::open(path);
  ASSERT_EQ(ckpt->tensors().size(), expected_tensors.size()) << path;
  for (const auto& [name, want] : expected_tensors.items()) {
    SCOPED_TRACE(path + " : " + name);
    const io::TorchTensor& t = ckpt->torch_tensor(name);
    EXPECT_EQ(bb::testing::torch_dtype_name(t.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(t.shape, want["shape"].get<Shape>());
    EXPECT_EQ(t.stride, want["stride"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.offset, want["storage_offset"].get<int64_t>());
    if (name == "expand_3e9_i8") {  // 3 GB from a 1-byte storage: refused before allocating
      const std::string err = error_of([&] { ckpt->read_bytes(name); });
      EXPECT_NE(err.find("refusing to allocate more than the file holds"), std::string::npos) << err;
      EXPECT_NE(err.find(path), std::string::npos) << err;
      continue;
    }
    const std::vector<double> got = bb::testing::decode_values(t.dtype, ckpt->read_bytes(name));
    const int64_t numel = shape_numel(t.shape);
    ASSERT_EQ(int64_t(got.size()), numel);
    expect_values(name, got, want["values"], numel <= 64);
    if (!want["sum"].is_null()) {
      double sum = 0;
      for (double v : got) sum += v;
      EXPECT_NEAR(sum, want["sum"].get<double>(), 1e-6 * std::max(1.0, std::fabs(sum)));
    }
    if (io::is_floating(t.dtype)) {  // the fp32 path agrees with the raw elements
      const Tensor f = ckpt->read_f32(name);
      ASSERT_EQ(f.numel(), numel);
      for (int64_t i = 0; i < numel; ++i) EXPECT_EQ(double(f[i]), double(float(got[size_t(i)]))) << i;
    }
  }
}

}  // namespace

TEST(TorchCheckpoint, GeneratedFixturesMatchExpectedJson) {
  const std::string dir = checkpoint_data("pytorch/generated_torch_1.13.1/");
  const nlohmann::json exp = bb::testing::load_json(dir + "expected.json");
  for (const auto& [file, info] : exp.items()) check_file(dir + file, info["tensors"]);
}

TEST(TorchCheckpoint, GopickleFixturesAllProtocolsAndDtypes) {
  const std::string dir = checkpoint_data("pytorch/gopickle/");
  const nlohmann::json exp = bb::testing::load_json(dir + "expected.json");
  ASSERT_EQ(exp.size(), 28u);
  for (const auto& [file, want] : exp.items()) {
    SCOPED_TRACE(file);
    auto ckpt = io::TorchCheckpoint::open(dir + file);
    EXPECT_EQ(ckpt->format(), want["format"] == "zip" ? "pytorch-zip" : "pytorch-legacy");
    ASSERT_EQ(ckpt->tensors().size(), 1u);
    const io::TorchTensor& t = ckpt->torch_tensors()[0];
    EXPECT_EQ(t.name, "");  // a bare tensor, not a dict
    EXPECT_EQ(bb::testing::torch_dtype_name(t.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(t.shape, want["shape"].get<Shape>());
    const std::vector<uint8_t> raw = ckpt->read_bytes("");
    std::string hex;
    for (uint8_t b : raw) {
      char h[3];
      std::snprintf(h, sizeof h, "%02x", b);
      hex += h;
    }
    EXPECT_EQ(hex, want["raw_le_hex"].get<std::string>());
    expect_values(file, bb::testing::decode_values(t.dtype, raw), want["values"], true);
  }
}

TEST(TorchCheckpoint, TiedWeightsShareOneStorageAndMapWithoutCopy) {
  auto ckpt = io::TorchCheckpoint::open(checkpoint_data("pytorch/generated_torch_1.13.1/tiny_bigbird_state_dict_zip.bin"));
  const io::TorchTensor& emb = ckpt->torch_tensor("bert.embeddings.word_embeddings.weight");
  const io::TorchTensor& dec = ckpt->torch_tensor("cls.predictions.decoder.weight");
  EXPECT_EQ(emb.storage.get(), dec.storage.get());
  const Tensor a = ckpt->read_f32("bert.embeddings.word_embeddings.weight");
  const Tensor b = ckpt->read_f32("cls.predictions.decoder.weight");
  EXPECT_TRUE(a.is_view());  // 64-byte aligned STORED zip entry: served from the mapping
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(ckpt->other_entries().size(), 0u);
}

TEST(TorchCheckpoint, DeflatedArchiveAndShardsReadTheSameTensors) {
  auto ref = io::TorchCheckpoint::open(checkpoint_data("pytorch/generated_torch_1.13.1/tiny_bigbird_state_dict_zip.bin"));
  auto deflated = io::TorchCheckpoint::open(checkpoint_data("extra/tiny_bigbird_state_dict_deflated.bin"));
  auto sharded = io::open_tensor_source(checkpoint_data("extra/tiny_bigbird_sharded/pytorch_model.bin.index.json"));
  EXPECT_EQ(sharded->format(), "sharded pytorch-zip");
  ASSERT_EQ(deflated->tensors().size(), ref->tensors().size());
  ASSERT_EQ(sharded->tensors().size(), ref->tensors().size());
  for (const io::SourceTensor& t : ref->tensors()) {
    EXPECT_EQ(deflated->read_bytes(t.name), ref->read_bytes(t.name)) << t.name;
    EXPECT_EQ(sharded->read_bytes(t.name), ref->read_bytes(t.name)) << t.name;
  }
}

TEST(TorchCheckpoint, RefusesCodeAndNamesTheGlobal) {
  const std::string evil = checkpoint_data("extra/malicious_os_system.pt");
  std::string err = error_of([&] { io::TorchCheckpoint::open(evil); });
  EXPECT_NE(err.find("global \"posix.system\" is not allowed"), std::string::npos) << err;
  EXPECT_NE(err.find(evil), std::string::npos) << err;

  const std::string module = checkpoint_data("extra/whole_module.pt");
  err = error_of([&] { io::TorchCheckpoint::open(module); });
  EXPECT_NE(err.find("global \"__main__.M\" is not allowed"), std::string::npos) << err;

  const std::string ts = checkpoint_data("extra/torchscript_traced.pt");
  err = error_of([&] { io::TorchCheckpoint::open(ts); });
  EXPECT_NE(err.find("TorchScript"), std::string::npos) << err;
}
