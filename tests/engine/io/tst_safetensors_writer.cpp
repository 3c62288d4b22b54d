// safetensors writer: layout identical to huggingface/safetensors (padding, ordering, header text),
// bit-identical round trips for every dtype, and refusal of tensors the format cannot hold.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "engine/io/half_float.h"
#include "engine/io/safetensors.h"
#include "tests/engine/io/io_test_util.h"

using bb::testing::error_of;
using bb::testing::read_bytes;
using bb::testing::TempDir;
namespace io = bb::io;

namespace {

constexpr io::DType kAll[] = {io::DType::BOOL, io::DType::U8,  io::DType::I8,  io::DType::I16, io::DType::U16,
                              io::DType::F16,  io::DType::BF16, io::DType::I32, io::DType::U32, io::DType::F32,
                              io::DType::F64,  io::DType::I64, io::DType::U64};

std::vector<uint8_t> random_payload(io::DType d, int64_t numel, std::mt19937& rng) {
  std::vector<uint8_t> b(size_t(numel) * io::dtype_size(d));
  for (auto& x : b) x = uint8_t(rng());
  if (d == io::DType::BOOL)
    for (auto& x : b) x &= 1;
  return b;
}

std::string header_text(const std::vector<uint8_t>& file) {
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  return std::string(file.begin() + 8, file.begin() + 8 + long(n));
}

}  // namespace

TEST(SafetensorsWriter, RoundTripEveryDtypeBitIdentical) {
  TempDir dir;
  std::mt19937 rng(1234);
  io::SafetensorsWriter w;
  w.set_metadata("note", "round trip");
  const std::vector<bb::Shape> shapes = {{3, 5}, {7}, {}, {2, 0, 4}, {1, 1, 3}};
  for (io::DType d : kAll)
    for (size_t s = 0; s < shapes.size(); ++s)
      w.add_raw(std::string(io::dtype_name(d)) + "." + std::to_string(s), d, shapes[s],
                random_payload(d, bb::shape_numel(shapes[s]), rng));
  const std::string path = dir.file("all.safetensors");
  w.write(path);
  EXPECT_EQ(read_bytes(path), w.serialize());

  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "round trip");
  ASSERT_EQ(f.tensors().size(), std::size(kAll) * shapes.size());
  std::mt19937 again(1234);
  for (io::DType d : kAll)
    for (size_t s = 0; s < shapes.size(); ++s) {
      const std::string name = std::string(io::dtype_name(d)) + "." + std::to_string(s);
      const auto want = random_payload(d, bb::shape_numel(shapes[s]), again);
      const io::TensorInfo* t = f.find(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->dtype, d);
      EXPECT_EQ(t->shape, shapes[s]);
      const auto raw = f.raw(name);
      EXPECT_EQ(std::vector<uint8_t>(raw.begin(), raw.end()), want) << name;
      // Natural alignment of every tensor, relative to the file start.
      EXPECT_EQ((8 + f.header_size() + t->begin) % io::dtype_size(d), 0u) << name;
    }
}

TEST(SafetensorsWriter, TypedAddsRoundTrip) {
  bb::Tensor a = bb::Tensor::from({2, 2}, {1.5f, -0.0f, 3e38f, 1e-45f});
  bb::I64Tensor b = bb::I64Tensor::from({3}, {INT64_MIN, 0, INT64_MAX});
  bb::I32Tensor c = bb::I32Tensor::from({1, 2}, {-5, 7});
  io::SafetensorsWriter w;
  w.add("a", a);
  w.add("b", b);
  w.add("c", c);
  const auto f = io::SafetensorsFile::from_bytes(w.serialize(), "mem");
  const bb::Tensor a2 = f.read_f32("a");
  EXPECT_EQ(std::memcmp(a2.data(), a.data(), a.bytes()), 0);
  EXPECT_EQ(f.read_i64("b")[0], INT64_MIN);
  EXPECT_EQ(f.read_i64("b")[2], INT64_MAX);
  EXPECT_EQ(f.read_i32("c")[1], 7);
  EXPECT_EQ(f.find("c")->shape, (bb::Shape{1, 2}));
}

TEST(SafetensorsWriter, HalfPrecisionStorageRoundsToNearestEven) {
  bb::Tensor x = bb::Tensor::from({5}, {1.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-10f + 0x1p-11f, 70000.0f, 1.00390625f});
  io::SafetensorsWriter w;
  w.add("h", x, io::DType::F16);
  w.add("b", x, io::DType::BF16);
  EXPECT_NE(error_of([&] { w.add("i", x, io::DType::I32); }).find("cannot store fp32 values as I32"), std::string::npos);
  const auto f = io::SafetensorsFile::from_bytes(w.serialize(), "mem");
  const bb::Tensor h = f.read_f32("h"), b = f.read_f32("b");
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], 1.0f);                               // tie -> even
  EXPECT_EQ(h[2], 1.0f + 0x1p-9f);                     // tie -> even (up)
  EXPECT_EQ(h[3], std::numeric_limits<float>::infinity());
  EXPECT_EQ(b[4], 1.0f);                               // 1 + 2^-8 is a bf16 tie -> even
  EXPECT_EQ(f.find("h")->dtype, io::DType::F16);
}

TEST(SafetensorsWriter, HeaderTextOrderAndPaddingMatchTheReferenceWriter) {
  // huggingface/safetensors `prepare`: sort by dtype descending (enum order U64 > I64 > F64 > F32 >
  // U32 > I32 > BF16 > F16 > U16 > I16 > I8 > U8 > BOOL), then by name; compact JSON; pad with spaces.
  io::SafetensorsWriter w;
  auto add = [&](const std::string& name, io::DType d, bb::Shape shape) {
    w.add_raw(name, d, shape, std::vector<uint8_t>(size_t(bb::shape_numel(shape)) * io::dtype_size(d)));
  };
  add("e", io::DType::U8, {1});
  add("b", io::DType::F32, {2});
  add("d", io::DType::F16, {3});
  add("a", io::DType::F32, {1});
  add("c", io::DType::I64, {1});
  const std::vector<uint8_t> file = w.serialize();
  const std::string expect =
      R"({"__metadata__":{"format":"pt"},"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
      R"("d":{"dtype":"F16","shape":[3],"data_offsets":[20,26]},"e":{"dtype":"U8","shape":[1],"data_offsets":[26,27]}})";
  const std::string header = header_text(file);
  EXPECT_EQ(header.size() % 8, 0u);
  ASSERT_GE(header.size(), expect.size());
  EXPECT_EQ(header.substr(0, expect.size()), expect);
  EXPECT_EQ(header.substr(expect.size()), std::string(header.size() - expect.size(), ' '));
  EXPECT_LT(header.size() - expect.size(), 8u);
  EXPECT_EQ(file.size(), 8 + header.size() + 27);
  EXPECT_EQ(w.header_bytes(), std::string(file.begin(), file.begin() + 8 + long(header.size())));
}

TEST(SafetensorsWriter, NamesAreJsonEscaped) {
  io::SafetensorsWriter w;
  w.clear_metadata();
  const std::string name = "q\"uote\\back\nline\x01\xC3\xA9";
  w.add_raw(name, io::DType::U8, {1}, std::vector<uint8_t>{9});
  const auto file = w.serialize();
  const std::string want = "{\"q\\\"uote\\\\back\\nline\\u0001\xC3\xA9\":";
  EXPECT_EQ(header_text(file).substr(0, want.size()), want);
  const auto f = io::SafetensorsFile::from_bytes(file, "mem");
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.read_i64(name)[0], 9);
}

TEST(SafetensorsWriter, EmptyWriterMakesAValidFile) {
  io::SafetensorsWriter w;
  const auto f = io::SafetensorsFile::from_bytes(w.serialize(), "mem");
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST(SafetensorsWriter, RefusesWhatTheFormatCannotHold) {
  io::SafetensorsWriter w;
  w.add_raw("x", io::DType::F32, {1}, std::vector<uint8_t>(4));
  EXPECT_EQ(error_of([&] { w.add_raw("x", io::DType::F32, {1}, std::vector<uint8_t>(4)); }),
            "safetensors writer: tensor \"x\" added twice");
  EXPECT_EQ(error_of([&] { w.add_raw("__metadata__", io::DType::F32, {1}, std::vector<uint8_t>(4)); }),
            "safetensors writer: \"__metadata__\" is reserved and cannot name a tensor");
  EXPECT_EQ(error_of([&] { w.add_raw("y", io::DType::F32, {2, 3}, std::vector<uint8_t>(20)); }),
            "safetensors writer: tensor \"y\": F32 [2,3] needs 24 bytes, got 20");
  EXPECT_EQ(error_of([&] { w.add_raw("y", io::DType::F32, {-1}, {}); }),
            "safetensors writer: tensor \"y\": dimension -1 is outside [0, 2^48]");
  EXPECT_NE(error_of([&] { w.add_raw("bad\xFF", io::DType::U8, {0}, {}); }).find("is not valid UTF-8"), std::string::npos);
  EXPECT_NE(error_of([&] { w.set_metadata("k", "\xC0\x80"); }).find("metadata \"k\" is not valid UTF-8"), std::string::npos);
  EXPECT_EQ(w.size(), 1u);
}

TEST(SafetensorsWriter, WriteErrorsNameThePath) {
  TempDir dir;
  io::SafetensorsWriter w;
  const std::string path = dir.file("no/such/dir/model.safetensors");
  const std::string msg = error_of([&] { w.write(path); });
  EXPECT_EQ(msg.rfind("cannot write " + path + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST(HalfFloat, F32ToF16MatchesRoundToNearestEven) {
  // Every f16 value and every midpoint between neighbours (the tie cases), both signs.
  for (uint32_t h = 0; h < 0x7BFF; ++h) {  // 0x7BFF = 65504, the largest finite value: below
    const float v = io::f16_to_f32(uint16_t(h));
    ASSERT_EQ(io::f32_to_f16(v), h);
    ASSERT_EQ(io::f32_to_f16(-v), h | 0x8000u);
    const float next = io::f16_to_f32(uint16_t(h + 1));
    const float mid = float((double(v) + double(next)) / 2);  // exact in fp32
    ASSERT_EQ(double(mid), (double(v) + double(next)) / 2);
    const uint32_t even = (h & 1) ? h + 1 : h;
    ASSERT_EQ(io::f32_to_f16(mid), even) << std::hex << h;
    ASSERT_EQ(io::f32_to_f16(std::nextafter(mid, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(io::f32_to_f16(std::nextafter(mid, 1e9f)), h + 1) << std::hex << h;
  }
  EXPECT_EQ(io::f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(io::f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(io::f32_to_f16(65520.0f), 0x7C00);  // the tie between 65504 and 65536 goes to inf (even)
  EXPECT_EQ(io::f32_to_f16(-65520.0f), 0xFC00);
  EXPECT_EQ(io::f32_to_f16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(io::f32_to_f16(1e-30f), 0);
  EXPECT_EQ(io::f32_to_f16(-1e-30f), 0x8000);
  EXPECT_EQ(io::f32_to_f16(0x1p-25f), 0);                      // tie with 0 -> even (0)
  EXPECT_EQ(io::f32_to_f16(std::nextafter(0x1p-25f, 1.0f)), 1);
  EXPECT_EQ(io::f32_to_f16(std::ldexp(1.0f, -140)), 0);        // fp32 subnormal range
  const uint16_t nan = io::f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE((nan & 0x7C00) == 0x7C00 && (nan & 0x3FF) != 0);
  EXPECT_TRUE(std::isnan(io::f16_to_f32(io::f32_to_f16(std::numeric_limits<float>::signaling_NaN()))));
#ifdef __FLT16_MAX__
  std::mt19937 rng(7);
  for (int i = 0; i < 1000000; ++i) {  // random bit patterns against the compiler's conversion
    const float f = io::bits_to_f32(uint32_t(rng()));
    if (std::isnan(f)) continue;
    const _Float16 ref = _Float16(f);
    uint16_t rb;
    std::memcpy(&rb, &ref, 2);
    ASSERT_EQ(io::f32_to_f16(f), rb) << f;
  }
#endif
}

TEST(HalfFloat, F32ToBF16MatchesRoundToNearestEven) {
  std::mt19937 rng(11);
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t x = uint32_t(rng());
    const float f = io::bits_to_f32(x);
    const uint16_t b = io::f32_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(io::bf16_to_f32(b)));
      continue;
    }
    // The two bf16 candidates around f are the truncation t and t+1 (same sign).
    const uint16_t t = uint16_t(x >> 16);
    const double lo = io::bf16_to_f32(t);
    // The next pattern up in magnitude; past the largest finite bf16 it stands for 2^128.
    const double hi = (uint16_t(t + 1) & 0x7FFF) == 0x7F80 ? std::copysign(0x1p128, lo) : double(io::bf16_to_f32(uint16_t(t + 1)));
    const double dlo = std::fabs(double(f) - lo), dhi = std::fabs(hi - double(f));
    const uint16_t want = (x & 0xFFFF) == 0 ? t : dlo < dhi ? t : dhi < dlo ? uint16_t(t + 1) : (t & 1) ? uint16_t(t + 1) : t;
    ASSERT_EQ(b, want) << std::hex << x;
  }
  EXPECT_EQ(io::f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to inf
  EXPECT_EQ(io::f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
}
