// The restricted pickle interpreter: what a state_dict needs works, everything else is refused
// with the offset and reason, and no input can exhaust memory, recurse unboundedly or build cycles.
#include <gtest/gtest.h>

#include <string>

#include "engine/io/pickle_vm.h"
#include "engine/io/torch_checkpoint.h"
#include "tests/engine/io/checkpoint_test_util.h"
#include "tests/engine/io/io_test_util.h"
#include "tests/engine/io/zip_test_writer.h"

using namespace bb;
using namespace bb::io::pickle;
using bb::testing::error_of;
using namespace std::string_literals;

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

Result run(const std::string& pkl, const Hooks& hooks = {}, const Limits& limits = {}) {
  const std::vector<uint8_t> b = bytes(pkl);
  return unpickle(b, 0, "test.pkl", hooks, limits);
}

std::string refusal(const std::string& pkl, const Hooks& hooks = {}, const Limits& limits = {}) {
  return error_of([&] { run(pkl, hooks, limits); });
}

std::string binunicode(const std::string& s) {
  std::string o = "X";
  const uint32_t n = uint32_t(s.size());
  o.append(reinterpret_cast<const char*>(&n), 4);
  return o + s;
}

}  // namespace

TEST(PickleVm, OrderedDictWithItemsAndMemo) {
  // OrderedDict() ; MARK 'a' 1 'b' (2, True) SETITEMS ; STOP
  const std::string p = std::string("\x80\x02") + "ccollections\nOrderedDict\nq\x00)Rq\x01("s + binunicode("a") + "K\x01" +
                        binunicode("b") + "K\x02\x88\x86u.";
  const Result r = run(p);
  ASSERT_EQ(r.value->kind, Kind::Dict);
  EXPECT_TRUE(r.value->ordered);
  ASSERT_EQ(r.value->entries.size(), 2u);
  EXPECT_EQ(r.value->entries[0].first->text, "a");
  EXPECT_EQ(r.value->entries[1].second->kind, Kind::Tuple);
  EXPECT_EQ(r.end, p.size());
}

TEST(PickleVm, LongIntegersAndFloats) {
  // LONG1 of 10 bytes (torch's legacy magic), BINFLOAT 1.5 (big-endian), tuple of both.
  const std::string p = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14) +
                        std::string("G\x3f\xf8\x00\x00\x00\x00\x00\x00", 9) + "\x86.";
  const Result r = run(p);
  ASSERT_EQ(r.value->items.size(), 2u);
  EXPECT_TRUE(r.value->items[0]->integer == (((__int128)0x1950 << 64) | (__int128)0xa86a20f9469cfc6cULL));
  EXPECT_EQ(r.value->items[1]->number, 1.5);
  const Result neg = run(std::string("\x8a\x01\xff.", 4));  // LONG1 -1
  EXPECT_TRUE(neg.value->integer == -1);
}

TEST(PickleVm, RefusesGlobalsOutsideTheAllowList) {
  std::string err = refusal("cos\nsystem\n.");
  EXPECT_NE(err.find("global \"os.system\" is not allowed"), std::string::npos) << err;
  EXPECT_NE(err.find("test.pkl: pickle offset 0"), std::string::npos) << err;
  err = refusal(binunicode("builtins") + binunicode("eval") + "\x93.");  // STACK_GLOBAL
  EXPECT_NE(err.find("global \"builtins.eval\" is not allowed"), std::string::npos) << err;
}

TEST(PickleVm, RefusesOpcodesThatBuildObjects) {
  std::string err = refusal(std::string("\x80\x02") + "ccollections\nOrderedDict\n)\x81.");
  EXPECT_NE(err.find("opcode 0x81 (NEWOBJ) is not allowed"), std::string::npos) << err;
  err = refusal("(i__main__\nX\n.");
  EXPECT_NE(err.find("(INST)"), std::string::npos) << err;
  err = refusal("\x90.");
  EXPECT_NE(err.find("EMPTY_SET"), std::string::npos) << err;
}

TEST(PickleVm, ReduceOfUnknownCallableAndNonGlobal) {
  Hooks hooks;
  hooks.allow_global = [](const std::string& m, const std::string&) { return m == "torch._utils"; };
  const std::string err = refusal("ctorch._utils\n_rebuild_tensor_v2\n)R.", hooks);
  EXPECT_NE(err.find("calling \"torch._utils._rebuild_tensor_v2\" is not allowed"), std::string::npos) << err;
  EXPECT_NE(refusal("N)R.").find("REDUCE calls a None"), std::string::npos);
}

TEST(PickleVm, TruncatedAndMalformedStreams) {
  EXPECT_NE(refusal("\x80\x02(K\x01").find("ends without STOP"), std::string::npos);
  EXPECT_NE(refusal("X\xff\x00\x00\x00ab."s).find("truncated"), std::string::npos);
  EXPECT_NE(refusal("h\x05.").find("memo entry 5 was never stored"), std::string::npos);
  EXPECT_NE(refusal("a.").find("APPEND on an empty stack"), std::string::npos);
  EXPECT_NE(refusal("K\x01K\x02.").find("2 values on the stack"), std::string::npos);
  EXPECT_NE(refusal("(K\x01.").find("unclosed MARK"), std::string::npos);
  EXPECT_NE(refusal("\x80\x07N.").find("protocol 7"), std::string::npos);
  EXPECT_NE(refusal("X\x02\x00\x00\x00\xc3\x28."s).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(refusal("}X\x01\x00\x00\x00kK\x01sX\x01\x00\x00\x00kK\x02s."s).find("duplicate dict key"), std::string::npos);
}

TEST(PickleVm, NoCyclesNoUnboundedNestingNoUnboundedObjects) {
  // A list appended to itself through the memo.
  EXPECT_NE(refusal("]q\x00h\x00" "a."s).find("cannot contain itself"), std::string::npos);
  // L1 holds L2; then L1 appended into L2 (L2 is frozen once stored).
  EXPECT_NE(refusal("]q\x00]q\x01" "ah\x01h\x00" "a."s).find("already stored elsewhere"), std::string::npos);
  // 10 000 nested lists: depth is capped long before the destructor could overflow the stack.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "]";
  for (int i = 0; i < 9999; ++i) deep += "a";
  deep += ".";
  EXPECT_NE(refusal(deep).find("nested deeper than 32"), std::string::npos);
  // Object count limit.
  Limits small;
  small.max_objects = 100;
  std::string many = "(";
  for (int i = 0; i < 200; ++i) many += "N";
  many += "t.";
  EXPECT_NE(refusal(many, {}, small).find("more than 100 objects"), std::string::npos);
}

// --- torch-level refusals on crafted archives ---------------------------------------------------

namespace {

// A torch zip whose data.pkl is `pkl` and storage 0 holds `data`.
std::vector<uint8_t> torch_zip(const std::string& pkl, const std::string& data) {
  return bb::testing::make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", data}, {"archive/version", "3\n"}});
}

// {'w': _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, size, stride, False, OrderedDict())}
std::string state_dict_pickle(int numel, int offset, const std::string& size_tuple, const std::string& stride_tuple) {
  return std::string("\x80\x02}") + binunicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + binunicode("storage") +
         "ctorch\nFloatStorage\n" + binunicode("0") + binunicode("cpu") + "K" + char(numel) + "tQ" + "K" + char(offset) +
         size_tuple + stride_tuple + "\x89" + "ccollections\nOrderedDict\n)R" + "tRs.";
}

std::string f32s(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

}  // namespace

TEST(TorchCrafted, ValidCraftedArchiveReads) {
  // 2x2 transposed view of a 4-element storage.
  auto c = io::TorchCheckpoint::from_bytes(torch_zip(state_dict_pickle(4, 0, "K\x02K\x02\x86", "K\x01K\x02\x86"), f32s({1, 2, 3, 4})), "crafted.pt");
  const Tensor t = c->read_f32("w");
  ASSERT_EQ(t.numel(), 4);
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], 3.0f);
  EXPECT_EQ(t[2], 2.0f);
  EXPECT_EQ(t[3], 4.0f);
}

TEST(TorchCrafted, ViewsOutsideTheirStorageAreRefused) {
  std::string err = error_of([&] {
    io::TorchCheckpoint::from_bytes(torch_zip(state_dict_pickle(4, 1, "K\x02K\x02\x86", "K\x02K\x01\x86"), f32s({1, 2, 3, 4})), "crafted.pt");
  });
  EXPECT_NE(err.find("crafted.pt: tensor \"w\": shape [2,2], stride [2,1] and offset 1 reach element 4 of storage \"0\", which holds 4"),
            std::string::npos) << err;
  err = error_of([&] {
    io::TorchCheckpoint::from_bytes(torch_zip(state_dict_pickle(8, 0, "K\x02\x85", "K\x01\x85"), f32s({1, 2, 3, 4})), "crafted.pt");
  });
  EXPECT_NE(err.find("archive entry holds 16 bytes, but 8 elements of FloatStorage need 32"), std::string::npos) << err;
}

TEST(TorchCrafted, CorruptAndTruncatedArchives) {
  std::vector<uint8_t> good = torch_zip(state_dict_pickle(4, 0, "K\x04\x85", "K\x01\x85"), f32s({1, 2, 3, 4}));
  // Flip one byte of the storage data: CRC mismatch when the tensor is read.
  std::vector<uint8_t> bad = good;
  const std::string m = f32s({1, 2, 3, 4});
  const std::vector<uint8_t> marker(m.begin(), m.end());
  auto it = std::search(bad.begin(), bad.end(), marker.begin(), marker.end());
  ASSERT_NE(it, bad.end());
  *(it + 5) ^= 0x40;
  auto c = io::TorchCheckpoint::from_bytes(bad, "flipped.pt");
  std::string err = error_of([&] { c->read_f32("w"); });
  EXPECT_NE(err.find("flipped.pt: entry \"archive/data/0\": CRC-32 mismatch"), std::string::npos) << err;
  // Truncations at every length fail cleanly, never crash.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + long(n));
    err = error_of([&] { io::TorchCheckpoint::from_bytes(cut, "cut.pt")->read_bytes("w"); });
    EXPECT_NE(err, "<no error>") << n;
  }
}
