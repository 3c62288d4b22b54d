// safetensors reader: the real fixture files against their expected.json, the hf-golden and
// generation files against case.json, and hand-made corrupt files that must each be refused with
// a specific message (checkpoint-formats.md §1.2).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "tests/engine/io/io_test_util.h"

using bb::testing::error_of;
using bb::testing::read_bytes;
using bb::testing::TempDir;
using nlohmann::json;
namespace io = bb::io;

namespace {

const std::string kData = BIGBIRD_TEST_DATA;
const std::string kFixtures = kData + "/checkpoints/safetensors";

// A safetensors image: u64 length, header text, data. `n` overrides the length field.
std::vector<uint8_t> make_image(const std::string& header, const std::vector<uint8_t>& data = {},
                                std::optional<uint64_t> n = std::nullopt) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t len = n.value_or(header.size());
  std::memcpy(out.data(), &len, 8);
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

std::string refusal(const std::vector<uint8_t>& image) {
  return error_of([&] { io::SafetensorsFile::from_bytes(image, "mem.safetensors"); });
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Fixture files written by the real safetensors library (2022 numpy samples, 2023 safetensors-cpp).

TEST(SafetensorsFixtures, EveryFileMatchesExpectedJson) {
  const json expected = json::parse(io::read_text_file(kFixtures + "/expected.json"));
  ASSERT_GE(expected.size(), 12u);
  int checked_tensors = 0;
  for (const auto& [rel, want] : expected.items()) {
    SCOPED_TRACE(rel);
    const std::string path = kFixtures + "/" + rel;
    if (want.contains("expected_error")) {
      const std::string msg = error_of([&] { io::SafetensorsFile::open(path); });
      EXPECT_NE(msg.find(want["expected_error"].get<std::string>()), std::string::npos) << msg;
      EXPECT_EQ(msg.rfind(path, 0), 0u) << "the message must start with the file name: " << msg;
      continue;
    }
    const io::SafetensorsFile f = io::SafetensorsFile::open(path);
    EXPECT_EQ(f.file_size(), want["file_size"].get<uint64_t>());
    EXPECT_EQ(f.header_size(), want["header_len"].get<uint64_t>());
    if (want["metadata"].is_null())
      EXPECT_TRUE(f.metadata().empty());
    else
      EXPECT_EQ(json(f.metadata()), want["metadata"]);
    ASSERT_EQ(f.tensors().size(), want["tensors"].size());
    uint64_t prev_begin = 0;
    for (const auto& [name, t] : want["tensors"].items()) {
      SCOPED_TRACE(name);
      const io::TensorInfo* info = f.find(name);
      ASSERT_NE(info, nullptr);
      EXPECT_EQ(io::dtype_name(info->dtype), t["dtype"].get<std::string>());
      EXPECT_EQ(info->shape, t["shape"].get<bb::Shape>());
      EXPECT_EQ(info->begin, t["data_offsets"][0].get<uint64_t>());
      EXPECT_EQ(info->end, t["data_offsets"][1].get<uint64_t>());
      EXPECT_EQ(8 + f.header_size() + info->begin, t["abs_offset"].get<uint64_t>());
      const auto& values = t["values"];
      if (io::is_floating(info->dtype)) {
        const bb::Tensor x = f.read_f32(name);
        ASSERT_GE(size_t(x.numel()), values.size());
        double sum = 0;
        for (int64_t i = 0; i < x.numel(); ++i) sum += x[i];
        for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(x[int64_t(i)], float(values[i].get<double>())) << i;
        EXPECT_NEAR(sum, t["sum"].get<double>(), 1e-4 * (1 + std::fabs(t["sum"].get<double>())));
        if (info->dtype == io::DType::F64) {  // the raw doubles, bit for bit
          const auto raw = f.raw(name);
          for (size_t i = 0; i < values.size(); ++i) {
            double d;
            std::memcpy(&d, raw.data() + 8 * i, 8);
            EXPECT_EQ(d, values[i].get<double>());
          }
        }
      } else {
        const bb::I64Tensor x = f.read_i64(name);
        ASSERT_EQ(size_t(x.numel()), values.size());
        int64_t sum = 0;
        for (int64_t i = 0; i < x.numel(); ++i) {
          EXPECT_EQ(x[i], values[size_t(i)].get<int64_t>()) << i;
          sum += x[i];
        }
        EXPECT_EQ(sum, t["sum"].get<int64_t>());
      }
      EXPECT_GE(info->begin, prev_begin) << "tensors() must be in file order";
      prev_begin = info->begin;
      ++checked_tensors;
    }
  }
  EXPECT_EQ(checked_tensors, 9 + 9 + 2);
}

TEST(SafetensorsFixtures, UnalignedDataIsReadCorrectly) {
  // overall.safetensors (2022): data starts at file offset 534; F64 "d" sits at 582, F32 "f" at 642.
  const io::SafetensorsFile f = io::SafetensorsFile::open(kFixtures + "/hf_safetensors_samples_2022/overall.safetensors");
  EXPECT_NE((8 + f.header_size() + f.find("d")->begin) % 8, 0u);
  EXPECT_NE((8 + f.header_size() + f.find("f")->begin) % 4, 0u);
  const bb::Tensor d = f.read_f32("d"), ff = f.read_f32("f");
  const bb::I32Tensor i = f.read_i32("i");
  for (int k = 0; k < 6; ++k) {
    EXPECT_EQ(d[k], float(k - 3));
    EXPECT_EQ(ff[k], float(k - 3));
    EXPECT_EQ(i[k], k - 3);
  }
}

TEST(SafetensorsFixtures, AbuseFileRefusedWithOneLine) {
  const std::string path = kFixtures + "/safetensors_cpp/safetensors_abuse_attempt_1.safetensors";
  const std::string msg = error_of([&] { io::SafetensorsFile::open(path); });
  EXPECT_EQ(msg, path + ": header length 1000 exceeds file size 88 (InvalidHeaderLength)");
}

TEST(SafetensorsFixtures, RealWriterOutputIsReproducedByteForByte) {
  // safetensors_cpp/model.safetensors was written by safetensors.numpy.save_file (no metadata).
  const std::string path = kFixtures + "/safetensors_cpp/model.safetensors";
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  io::SafetensorsWriter w;
  w.clear_metadata();
  for (auto it = f.tensors().rbegin(); it != f.tensors().rend(); ++it)  // insertion order must not matter
    w.add_raw(it->name, it->dtype, it->shape, f.raw(it->name));
  EXPECT_EQ(w.serialize(), read_bytes(path));
}

// ---------------------------------------------------------------------------------------------
// hf-golden and generation directories: every safetensors file opens, matches case.json and reads.

namespace {

std::vector<std::string> safetensors_files_under(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void read_every_tensor(const io::SafetensorsFile& f) {
  for (const io::TensorInfo& t : f.tensors()) {
    if (io::is_floating(t.dtype)) {
      const bb::Tensor x = f.read_f32(t.name);
      ASSERT_EQ(x.shape(), t.shape);
      if (t.dtype == io::DType::F32) {
        ASSERT_EQ(x.bytes(), f.raw(t.name).size());
        EXPECT_EQ(std::memcmp(x.data(), f.raw(t.name).data(), x.bytes()), 0) << t.name;
      }
      for (int64_t i = 0; i < x.numel(); ++i) ASSERT_TRUE(std::isfinite(x[i])) << t.name << "[" << i << "]";
    } else {
      const bb::I64Tensor x = f.read_i64(t.name);
      ASSERT_EQ(x.shape(), t.shape);
    }
  }
}

}  // namespace

TEST(SafetensorsGolden, HfGoldenFilesMatchCaseJson) {
  int files = 0;
  for (const auto& dir : std::filesystem::directory_iterator(kData + "/hf-golden")) {
    if (!dir.is_directory()) continue;
    const json case_json = json::parse(io::read_text_file(dir.path().string() + "/case.json"));
    for (const auto& [file, tensors] : case_json["files"].items()) {
      const std::string path = dir.path().string() + "/" + file;
      SCOPED_TRACE(path);
      const io::SafetensorsFile f = io::SafetensorsFile::open(path);
      ++files;
      EXPECT_EQ(f.metadata().at("format"), "pt");
      EXPECT_EQ((8 + f.header_size()) % 8, 0u) << "HF-style files pad the header to 8 bytes";
      ASSERT_EQ(f.tensors().size(), tensors.size());
      for (const auto& [name, t] : tensors.items()) {
        const io::TensorInfo* info = f.find(name);
        ASSERT_NE(info, nullptr) << name;
        EXPECT_EQ(io::dtype_name(info->dtype), t["dtype"].get<std::string>()) << name;
        EXPECT_EQ(info->shape, t["shape"].get<bb::Shape>()) << name;
      }
      read_every_tensor(f);
    }
  }
  EXPECT_GE(files, 11 * 3);
}

TEST(SafetensorsGolden, EmbeddingPaddingRowIsZero) {
  // make_golden.py zeroes the padding row (pad_token_id 0) of the word embeddings and nothing else.
  const std::pair<const char*, const char*> cases[] = {
      {"hf-golden/b_sparse_train_512/model.safetensors", "bert.embeddings.word_embeddings.weight"},
      {"hf-golden/a_full_256/model.safetensors", "embeddings.word_embeddings.weight"},
      {"hf-golden/h_pegasus_512/model.safetensors", "model.shared.weight"}};
  for (const auto& [file, name] : cases) {
    SCOPED_TRACE(file);
    const bb::Tensor e = io::SafetensorsFile::open(kData + "/" + file).read_f32(name);
    ASSERT_EQ(e.rank(), 2);
    const int64_t h = e.dim(1);
    double row0 = 0, row1 = 0;
    for (int64_t j = 0; j < h; ++j) {
      row0 += std::fabs(e[j]);
      row1 += std::fabs(e[h + j]);
    }
    EXPECT_EQ(row0, 0.0);
    EXPECT_GT(row1, 0.0);
  }
}

TEST(SafetensorsGolden, InputsAreIntegerTensors) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(kData + "/hf-golden/d_padded_batch_512/inputs.safetensors");
  const bb::I64Tensor ids = f.read_i64("input_ids"), mask = f.read_i64("attention_mask");
  ASSERT_EQ(ids.shape(), (bb::Shape{2, 512}));
  int64_t real_row1 = 0;
  for (int64_t t = 0; t < 512; ++t) real_row1 += mask[512 + t];
  EXPECT_EQ(real_row1, 300);  // README: 2x512 with 512 and 300 real tokens
  EXPECT_EQ(ids[512 + 300], 0);  // padding id
  const bb::I32Tensor ids32 = f.read_i32("input_ids");
  for (int64_t i = 0; i < ids.numel(); ++i) ASSERT_EQ(ids32[i], ids[i]);
}

TEST(SafetensorsGolden, GenerationFilesOpenAndRead) {
  const auto files = safetensors_files_under(kData + "/generation");
  ASSERT_GE(files.size(), 8u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const io::SafetensorsFile f = io::SafetensorsFile::open(path);
    EXPECT_FALSE(f.tensors().empty());
    read_every_tensor(f);
  }
  const io::SafetensorsFile m = io::SafetensorsFile::open(kData + "/generation/bbp_tiny_b16r3_s11/model.safetensors");
  EXPECT_TRUE(m.contains("final_logits_bias"));
  EXPECT_FALSE(m.contains("lm_head.weight"));  // tied, left out as HF does
}

TEST(SafetensorsGolden, HfGoldenModelsAreReproducedByteForByte) {
  // All-F32 files: sorted by name, padded, {"format":"pt",...} metadata, like the reference writer.
  for (const char* c : {"a_full_256", "f_seqcls_512", "h_pegasus_512"}) {
    const std::string path = kData + "/hf-golden/" + c + "/model.safetensors";
    SCOPED_TRACE(path);
    const io::SafetensorsFile f = io::SafetensorsFile::open(path);
    io::SafetensorsWriter w;
    for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
    for (const auto& t : f.tensors()) w.add_raw(t.name, t.dtype, t.shape, f.raw(t.name));
    EXPECT_EQ(w.serialize(), read_bytes(path));
  }
}

// ---------------------------------------------------------------------------------------------
// Corrupt files. Each must be refused with its own message, naming the file and the tensor.

TEST(SafetensorsCorrupt, HeaderLengthField) {
  EXPECT_EQ(refusal({1, 2, 3}), "mem.safetensors: file is 3 bytes, too small for a safetensors header (HeaderTooSmall)");
  EXPECT_EQ(refusal({}), "mem.safetensors: file is 0 bytes, too small for a safetensors header (HeaderTooSmall)");
  EXPECT_EQ(refusal(make_image("{}", {}, uint64_t(1) << 40)),
            "mem.safetensors: header length 1099511627776 exceeds the limit of 100000000 bytes (HeaderTooLarge)");
  EXPECT_NE(refusal(make_image("{}", {}, 100'000'001)).find("(HeaderTooLarge)"), std::string::npos);
  EXPECT_NE(refusal(make_image("{}", {}, UINT64_MAX)).find("(HeaderTooLarge)"), std::string::npos);
  EXPECT_NE(refusal(make_image("{}", {}, 100'000'000)).find("exceeds file size 10 (InvalidHeaderLength)"), std::string::npos);
  EXPECT_EQ(refusal(make_image("{}", {}, 3)), "mem.safetensors: header length 3 exceeds file size 10 (InvalidHeaderLength)");
}

TEST(SafetensorsCorrupt, TruncatedData) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  EXPECT_NO_THROW(io::SafetensorsFile::from_bytes(make_image(h, zeros(16)), "ok"));
  EXPECT_NE(refusal(make_image(h, zeros(13)))
                .find("file is truncated: tensors need 16 bytes of data but only 13 follow the header (MetadataIncompleteBuffer)"),
            std::string::npos);
}

TEST(SafetensorsCorrupt, TrailingBytes) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(refusal(make_image(h, zeros(11))), "mem.safetensors: 3 trailing bytes after the last tensor (MetadataIncompleteBuffer)");
  EXPECT_EQ(refusal(make_image("{}", zeros(1))), "mem.safetensors: 1 trailing bytes after the last tensor (MetadataIncompleteBuffer)");
}

TEST(SafetensorsCorrupt, GapAndOverlap) {
  const std::string gap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})";
  EXPECT_EQ(refusal(make_image(gap, zeros(20))),
            "mem.safetensors: tensor \"b\": data_offsets [12, 20] leave a gap of 4 bytes after tensor \"a\" (InvalidOffset)");
  const std::string lead = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_EQ(refusal(make_image(lead, zeros(12))),
            "mem.safetensors: tensor \"a\": data_offsets [4, 12] leave a gap of 4 bytes after the start of the data (InvalidOffset)");
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_EQ(refusal(make_image(overlap, zeros(12))),
            "mem.safetensors: tensor \"b\": data_offsets [4, 12] overlap tensor \"a\", which ends at 8 (InvalidOffset)");
  const std::string same = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NE(refusal(make_image(same, zeros(8))).find("overlap tensor \"a\""), std::string::npos);
  const std::string backwards = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})";
  EXPECT_EQ(refusal(make_image(backwards, zeros(8))),
            "mem.safetensors: tensor \"a\": data_offsets [8, 0] end before they begin (InvalidOffset)");
}

TEST(SafetensorsCorrupt, KeyOrderDoesNotMatterOffsetsDo) {
  // Listed in reverse offset order, contiguous: valid (the reference sorts by offsets).
  const std::string h = R"({"b":{"dtype":"I8","shape":[1],"data_offsets":[8,9]},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  std::vector<uint8_t> data(9, 0);
  data[8] = 0xFF;
  const auto f = io::SafetensorsFile::from_bytes(make_image(h, data), "ok");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");
  EXPECT_EQ(f.read_i64("b")[0], -1);
}

TEST(SafetensorsCorrupt, DuplicateKeys) {
  const std::string dup = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_EQ(refusal(make_image(dup, zeros(8))),
            "mem.safetensors: header: duplicate key \"a\" in JSON object (InvalidHeaderDeserialization)");
  const std::string inner = R"({"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_NE(refusal(make_image(inner, zeros(4))).find("duplicate key \"dtype\""), std::string::npos);
  const std::string meta = R"({"__metadata__":{"format":"pt","format":"tf"}})";
  EXPECT_NE(refusal(make_image(meta)).find("duplicate key \"format\""), std::string::npos);
}

TEST(SafetensorsCorrupt, BadJsonAndUtf8) {
  EXPECT_NE(refusal(make_image(R"({"a":{"dtype":"F32",)")).find("mem.safetensors: header: invalid JSON: "), std::string::npos);
  EXPECT_NE(refusal(make_image(R"({"a":1} x)")).find("(InvalidHeaderDeserialization)"), std::string::npos);
  EXPECT_EQ(refusal(make_image("")).rfind("mem.safetensors: header: invalid JSON", 0), 0u);
  EXPECT_EQ(refusal(make_image("[]")), "mem.safetensors: header is array, not a JSON object (InvalidHeaderDeserialization)");
  std::string bad = "{\"a\xC3(\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
  EXPECT_EQ(refusal(make_image(bad)), "mem.safetensors: header is not valid UTF-8 (byte 3 of the header) (InvalidHeader)");
  std::string overlong = "{\"\xC0\xAF\":1}";
  EXPECT_NE(refusal(make_image(overlong)).find("not valid UTF-8 (byte 2"), std::string::npos);
  std::string surrogate = "{\"\xED\xA0\x80\":1}";
  EXPECT_NE(refusal(make_image(surrogate)).find("(InvalidHeader)"), std::string::npos);
  // Valid multi-byte UTF-8 in names and metadata is fine.
  const std::string utf8 = "{\"__metadata__\":{\"n\xC3\xA4me\":\"\xE2\x82\xAC\"},\"\xF0\x9F\x90\xA6\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  const auto f = io::SafetensorsFile::from_bytes(make_image(utf8, zeros(1)), "ok");
  EXPECT_TRUE(f.contains("\xF0\x9F\x90\xA6"));
  EXPECT_EQ(f.metadata().at("n\xC3\xA4me"), "\xE2\x82\xAC");
}

TEST(SafetensorsCorrupt, ShapesAndSizes) {
  auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
  };
  EXPECT_EQ(refusal(make_image(one("F32", "[2,3]", "[0,20]"), zeros(20))),
            "mem.safetensors: tensor \"t\": F32 [2,3] needs 24 bytes but data_offsets [0, 20] hold 20 (TensorInvalidInfo)");
  EXPECT_EQ(refusal(make_image(one("F32", "[281474976710656,281474976710656,4]", "[0,0]"))),
            "mem.safetensors: tensor \"t\": shape [281474976710656,281474976710656,4] has more than 2^64 elements (ValidationOverflow)");
  EXPECT_EQ(refusal(make_image(one("F64", "[281474976710656,16384]", "[0,0]"))),
            "mem.safetensors: tensor \"t\": F64 [281474976710656,16384] needs more than 2^64 bytes (ValidationOverflow)");
  EXPECT_EQ(refusal(make_image(one("U8", "[281474976710657]", "[0,281474976710657]"))),
            "mem.safetensors: tensor \"t\": shape[0] = 281474976710657 exceeds 2^48 (InvalidHeaderDeserialization)");
  EXPECT_EQ(refusal(make_image(one("U8", "[1]", "[0,281474976710657]"))),
            "mem.safetensors: tensor \"t\": data_offsets[1] = 281474976710657 exceeds 2^48 (InvalidHeaderDeserialization)");
  EXPECT_EQ(refusal(make_image(one("U8", "[-1]", "[0,0]"))),
            "mem.safetensors: tensor \"t\": shape[0] is negative, not an unsigned integer (InvalidHeaderDeserialization)");
  EXPECT_EQ(refusal(make_image(one("U8", "[2.0]", "[0,2]"), zeros(2))),
            "mem.safetensors: tensor \"t\": shape[0] is a fraction, not an unsigned integer (InvalidHeaderDeserialization)");
  EXPECT_NE(refusal(make_image(one("U8", "[\"2\"]", "[0,2]"), zeros(2))).find("shape[0] is string"), std::string::npos);
  EXPECT_NE(refusal(make_image(one("U8", "[1e30]", "[0,2]"), zeros(2))).find("shape[0] is a fraction"), std::string::npos);
  EXPECT_NE(refusal(make_image(one("U8", "[1]", "[0]"), zeros(1))).find("\"data_offsets\" is not an array [begin, end]"),
            std::string::npos);
  EXPECT_NE(refusal(make_image(R"({"t":{"dtype":"U8","shape":[1]}})", zeros(1))).find("tensor \"t\": missing \"data_offsets\""),
            std::string::npos);
  EXPECT_NE(refusal(make_image(R"({"t":[1,2]})")).find("tensor \"t\": entry is array, not an object"), std::string::npos);
}

TEST(SafetensorsCorrupt, TrillionElementClaimIsRefusedBeforeAllocating) {
  // 10^12 F32 elements = 4 TB: validation alone refuses it, nothing is allocated or read.
  const std::string h = R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}})";
  EXPECT_EQ(refusal(make_image(h, zeros(64))),
            "mem.safetensors: file is truncated: tensors need 4000000000000 bytes of data but only 64 follow the header "
            "(MetadataIncompleteBuffer)");
}

TEST(SafetensorsCorrupt, UnsupportedAndUnknownDtypes) {
  for (const char* dt : {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64", "F4", "F6_E2M3", "F6_E3M2"}) {
    const std::string h = std::string(R"({"layer.w":{"dtype":")") + dt + R"(","shape":[0],"data_offsets":[0,0]}})";
    EXPECT_EQ(refusal(make_image(h)), std::string("mem.safetensors: tensor \"layer.w\": dtype ") + dt +
                                          " is not supported by this reader (supported: BOOL, U8, I8, I16, U16, F16, BF16, "
                                          "I32, U32, F32, F64, I64, U64)");
  }
  EXPECT_NE(refusal(make_image(R"({"w":{"dtype":"f32","shape":[0],"data_offsets":[0,0]}})")).find("tensor \"w\": unknown dtype \"f32\""),
            std::string::npos);
  EXPECT_NE(refusal(make_image(R"({"w":{"dtype":4,"shape":[0],"data_offsets":[0,0]}})")).find("\"dtype\" is not a string"),
            std::string::npos);
}

TEST(SafetensorsCorrupt, MetadataMustBeStrings) {
  EXPECT_EQ(refusal(make_image(R"({"__metadata__":{"format":"pt","epoch":3}})")),
            "mem.safetensors: __metadata__ value \"epoch\" is number, not a string (InvalidHeaderDeserialization)");
  EXPECT_NE(refusal(make_image(R"({"__metadata__":{"x":{"y":"z"}}})")).find("value \"x\" is object"), std::string::npos);
  EXPECT_NE(refusal(make_image(R"({"__metadata__":"pt"})")).find("__metadata__ is string, not an object of strings"),
            std::string::npos);
}

TEST(SafetensorsCorrupt, HostileNamesStayOnOneLine) {
  const std::string h = R"({"a\nb\"c":{"dtype":"Q","shape":[0],"data_offsets":[0,0]}})";
  const std::string msg = refusal(make_image(h));
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find(R"(tensor "a\x0ab\"c")"), std::string::npos) << msg;
  const std::string longname(5000, 'x');
  const std::string msg2 = refusal(make_image("{\"" + longname + R"(":{"dtype":"Q","shape":[0],"data_offsets":[0,0]}})"));
  EXPECT_LT(msg2.size(), 400u);
}

TEST(SafetensorsCorrupt, DeepNestingDoesNotCrash) {
  const std::string deep = "{\"__metadata__\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_NE(refusal(make_image(deep)).find("__metadata__ is array"), std::string::npos);
}

TEST(SafetensorsCorrupt, OpenErrorsNameThePath) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { io::SafetensorsFile::open(dir.file("missing.safetensors")); }),
            "cannot open " + dir.file("missing.safetensors") + ": No such file or directory");
  EXPECT_EQ(error_of([&] { io::SafetensorsFile::open(dir.path); }), "cannot open " + dir.path + ": not a regular file");
  bb::testing::write_bytes(dir.file("empty.safetensors"), {});
  EXPECT_EQ(error_of([&] { io::SafetensorsFile::open(dir.file("empty.safetensors")); }),
            dir.file("empty.safetensors") + ": file is 0 bytes, too small for a safetensors header (HeaderTooSmall)");
  bb::testing::write_bytes(dir.file("gap.safetensors"),
                           make_image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", zeros(2)));
  EXPECT_NE(error_of([&] { io::SafetensorsFile::open(dir.file("gap.safetensors")); }).find(dir.file("gap.safetensors") + ": tensor \"a\""),
            std::string::npos);
}

TEST(SafetensorsFile, EdgeShapes) {
  const std::string h = R"({"scalar":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"empty":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]}})";
  std::vector<uint8_t> data(4);
  const float v = 2.5f;
  std::memcpy(data.data(), &v, 4);
  const auto f = io::SafetensorsFile::from_bytes(make_image(h, data), "ok");
  const bb::Tensor s = f.read_f32("scalar"), e = f.read_f32("empty");
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s[0], 2.5f);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.shape(), (bb::Shape{3, 0}));
  EXPECT_EQ(f.raw("empty").size(), 0u);
  EXPECT_EQ(error_of([&] { f.raw("nope"); }), "ok: no tensor named \"nope\"");
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_EQ(io::SafetensorsFile::from_bytes(make_image("{}"), "ok").tensors().size(), 0u);
  EXPECT_EQ(io::SafetensorsFile::from_bytes(make_image("{}   "), "ok").tensors().size(), 0u);  // padded header
}

// ---------------------------------------------------------------------------------------------
// Converting reads.

namespace {

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// One tensor of `dtype`, placed at an odd absolute offset (unpadded header + a 1-byte lead tensor).
io::SafetensorsFile single(const std::string& dtype, const std::vector<uint8_t>& payload, size_t elem) {
  const size_t n = payload.size() / elem;
  const std::string h = R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":")" + dtype +
                        R"(","shape":[)" + std::to_string(n) + R"(],"data_offsets":[1,)" + std::to_string(1 + payload.size()) + "]}}";
  std::vector<uint8_t> data{7};
  data.insert(data.end(), payload.begin(), payload.end());
  return io::SafetensorsFile::from_bytes(make_image(h, data), "conv.safetensors");
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace

TEST(SafetensorsConvert, F16AllBitPatterns) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  const auto f = single("F16", bytes_of(all), 2);
  const bb::Tensor x = f.read_f32("x");
  ASSERT_EQ(x.numel(), 65536);
  // Hand-checked values: subnormals, normals, limits, signed zero, inf, NaN.
  EXPECT_EQ(x[0x0001], std::ldexp(1.0f, -24));
  EXPECT_EQ(x[0x03FF], std::ldexp(1023.0f, -24));
  EXPECT_EQ(x[0x0200], std::ldexp(1.0f, -15));
  EXPECT_EQ(x[0x0400], std::ldexp(1.0f, -14));
  EXPECT_EQ(x[0x3C00], 1.0f);
  EXPECT_EQ(x[0xC000], -2.0f);
  EXPECT_EQ(x[0x3555], 0.333251953125f);
  EXPECT_EQ(x[0x7BFF], 65504.0f);
  EXPECT_EQ(x[0x8001], -std::ldexp(1.0f, -24));
  EXPECT_EQ(bits(x[0x8000]), 0x80000000u);
  EXPECT_EQ(x[0x7C00], std::numeric_limits<float>::infinity());
  EXPECT_EQ(x[0xFC00], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(x[0x7E00]) && std::isnan(x[0x7C01]) && std::isnan(x[0xFFFF]));
  // Exhaustive: the value of every pattern from the definition (-1)^s * 2^(e-15) * (1 + m/1024).
  for (uint32_t h = 0; h < 65536; ++h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    if (e == 31) {
      ASSERT_EQ(std::isnan(x[h]), m != 0) << h;
      continue;
    }
    const double mag = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
    ASSERT_EQ(double(x[h]), s ? -mag : mag) << std::hex << h;
    ASSERT_EQ(std::signbit(x[h]), s == 1) << h;
  }
#ifdef __FLT16_MAX__
  for (uint32_t h = 0; h < 65536; ++h) {  // and against the compiler's own conversion
    _Float16 v;
    const uint16_t hb = uint16_t(h);
    std::memcpy(&v, &hb, 2);
    if (std::isnan(float(v))) continue;
    ASSERT_EQ(bits(float(v)), bits(x[h])) << h;
  }
#endif
}

TEST(SafetensorsConvert, BF16AllBitPatterns) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  const bb::Tensor x = single("BF16", bytes_of(all), 2).read_f32("x");
  EXPECT_EQ(x[0x3F80], 1.0f);
  EXPECT_EQ(x[0xC040], -3.0f);
  EXPECT_EQ(x[0x0001], std::ldexp(1.0f, -133));  // smallest bf16 subnormal
  EXPECT_EQ(x[0x7F7F], 0x1.FEp127f);
  EXPECT_EQ(x[0x7F80], std::numeric_limits<float>::infinity());
  EXPECT_EQ(bits(x[0x8000]), 0x80000000u);
  for (uint32_t h = 0; h < 65536; ++h) {
    const int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
    if (e == 255) {
      ASSERT_EQ(std::isnan(x[h]), m != 0) << h;
      continue;
    }
    const double mag = e == 0 ? std::ldexp(double(m), -133) : std::ldexp(1.0 + m / 128.0, e - 127);
    ASSERT_EQ(double(x[h]), s ? -mag : mag) << std::hex << h;
  }
}

TEST(SafetensorsConvert, F64NarrowsLikeIeee) {
  const double flt_max = std::numeric_limits<float>::max();
  const std::vector<double> v = {0.1,
                                 -0.0,
                                 1e-320,                      // double subnormal -> +0
                                 std::ldexp(1.0, -149),       // smallest float subnormal, exact
                                 std::ldexp(1.0, -150),       // half of it: tie, rounds to even (0)
                                 std::ldexp(1.5, -150),       // above the tie: rounds up
                                 flt_max,
                                 0x1.fffffefffffffp127,       // just below the overflow tie: FLT_MAX
                                 0x1.ffffffp127,              // the tie: inf
                                 1e300,
                                 -1e300,
                                 std::numeric_limits<double>::infinity(),
                                 std::numeric_limits<double>::quiet_NaN()};
  const bb::Tensor x = single("F64", bytes_of(v), 8).read_f32("x");
  EXPECT_EQ(x[0], 0.1f);
  EXPECT_EQ(bits(x[1]), 0x80000000u);
  EXPECT_EQ(bits(x[2]), 0u);
  EXPECT_EQ(x[3], std::ldexp(1.0f, -149));
  EXPECT_EQ(bits(x[4]), 0u);
  EXPECT_EQ(x[5], std::ldexp(1.0f, -149));
  EXPECT_EQ(x[6], std::numeric_limits<float>::max());
  EXPECT_EQ(x[7], std::numeric_limits<float>::max());
  EXPECT_EQ(x[8], std::numeric_limits<float>::infinity());
  EXPECT_EQ(x[9], std::numeric_limits<float>::infinity());
  EXPECT_EQ(x[10], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(x[11], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(x[12]));
}

TEST(SafetensorsConvert, IntegersAreRangeChecked) {
  const auto u64 = single("U64", bytes_of(std::vector<uint64_t>{0, 5, uint64_t(1) << 63}), 8);
  EXPECT_EQ(error_of([&] { u64.read_i64("x"); }),
            "conv.safetensors: tensor \"x\": element 2 = 9223372036854775808 (U64) does not fit in int64");
  const auto i64 = single("I64", bytes_of(std::vector<int64_t>{-7, INT32_MAX, int64_t(INT32_MAX) + 1}), 8);
  const bb::I64Tensor wide = i64.read_i64("x");
  EXPECT_EQ(wide[0], -7);
  EXPECT_EQ(wide[2], int64_t(INT32_MAX) + 1);
  EXPECT_EQ(error_of([&] { i64.read_i32("x"); }),
            "conv.safetensors: tensor \"x\": element 2 = 2147483648 (I64) does not fit in int32");
  const auto i64neg = single("I64", bytes_of(std::vector<int64_t>{INT32_MIN, int64_t(INT32_MIN) - 1}), 8);
  EXPECT_NE(error_of([&] { i64neg.read_i32("x"); }).find("element 1 = -2147483649"), std::string::npos);
  const auto u32 = single("U32", bytes_of(std::vector<uint32_t>{1, 4294967295u}), 4);
  EXPECT_EQ(u32.read_i64("x")[1], 4294967295);
  EXPECT_NE(error_of([&] { u32.read_i32("x"); }).find("element 1 = 4294967295 (U32) does not fit in int32"), std::string::npos);
  const auto i16 = single("I16", bytes_of(std::vector<int16_t>{-32768, 32767}), 2);
  EXPECT_EQ(i16.read_i32("x")[0], -32768);
  EXPECT_EQ(i16.read_i64("x")[1], 32767);
  const auto u16 = single("U16", bytes_of(std::vector<uint16_t>{65535}), 2);
  EXPECT_EQ(u16.read_i32("x")[0], 65535);
  const auto i8 = single("I8", bytes_of(std::vector<int8_t>{-128, 127}), 1);
  EXPECT_EQ(i8.read_i64("x")[0], -128);
  const auto u8 = single("U8", bytes_of(std::vector<uint8_t>{255}), 1);
  EXPECT_EQ(u8.read_i32("x")[0], 255);
  const auto i32 = single("I32", bytes_of(std::vector<int32_t>{INT32_MIN, -1}), 4);
  EXPECT_EQ(i32.read_i32("x")[0], INT32_MIN);
  EXPECT_EQ(i32.read_i64("x")[1], -1);
}

TEST(SafetensorsConvert, BoolAndWrongKinds) {
  const auto b = single("BOOL", {1, 0, 1}, 1);
  const bb::I64Tensor v = b.read_i64("x");
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], 0);
  const auto bad = single("BOOL", {1, 2}, 1);
  EXPECT_EQ(error_of([&] { bad.read_i32("x"); }),
            "conv.safetensors: tensor \"x\": BOOL element 1 has byte value 2 (only 0 and 1 are valid)");
  EXPECT_EQ(error_of([&] { b.read_f32("x"); }),
            "conv.safetensors: tensor \"x\": is BOOL; a float read needs F32, F16, BF16 or F64");
  const auto f = single("F32", bytes_of(std::vector<float>{1.5f}), 4);
  EXPECT_EQ(error_of([&] { f.read_i64("x"); }),
            "conv.safetensors: tensor \"x\": is F32; an integer read needs an integer or BOOL dtype");
  EXPECT_EQ(error_of([&] { f.read_f32("y"); }), "conv.safetensors: no tensor named \"y\"");
}

TEST(SafetensorsCorrupt, RandomCorruptionNeverCrashes) {
  // Byte flips, truncations and length-field changes of a valid mixed-dtype file: every result is
  // either a valid file (whose tensors then read or fail cleanly) or a bb::Error, never a crash.
  const std::vector<uint8_t> base = read_bytes(kFixtures + "/hf_safetensors_samples_2022/overall.safetensors");
  std::mt19937 rng(2024);
  int accepted = 0, refused = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> b = base;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0: b[rng() % b.size()] = uint8_t(rng()); break;
        case 1:
          if (b.size() > 8) b[8 + rng() % (b.size() - 8)] = "{}[]\",:0123456789 -e."[rng() % 22];
          break;
        case 2: b.resize(rng() % (b.size() + 1)); break;
        case 3:
          if (b.size() >= 8) b[rng() % 8] = uint8_t(rng());
          break;
      }
      if (b.empty()) break;
    }
    try {
      const auto f = io::SafetensorsFile::from_bytes(b, "fuzz");
      ++accepted;
      for (const auto& t : f.tensors()) {
        try {
          if (io::is_floating(t.dtype))
            (void)f.read_f32(t.name);
          else
            (void)f.read_i32(t.name);
        } catch (const bb::Error&) {
        }
      }
    } catch (const bb::Error& e) {
      ++refused;
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(accepted + refused, 20000);
  EXPECT_GT(refused, 10000);
}
