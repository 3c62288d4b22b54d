#pragma once
// Minimal protocol-buffer wire-format reader for the few TensorFlow messages a checkpoint holds
// (BundleHeaderProto, BundleEntryProto, TrackableObjectGraph). Fields are visited in order;
// unknown fields are skipped by wire type; every length is bounds-checked by ByteCursor.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/io/byte_cursor.h"

namespace bb::io {

class ProtoReader {
 public:
  enum Wire { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

  ProtoReader(std::span<const uint8_t> bytes, std::string label) : in_(bytes, std::move(label)) {}

  // Advances to the next field; false at the end of the message.
  bool next() {
    if (in_.at_end()) return false;
    const uint64_t tag = in_.varint64("field tag");
    field_ = uint32_t(tag >> 3);
    wire_ = int(tag & 7);
    if (field_ == 0) in_.fail("protobuf field number 0");
    if (wire_ != Varint && wire_ != Fixed64 && wire_ != Bytes && wire_ != Fixed32)
      in_.fail("protobuf field " + std::to_string(field_) + " has unsupported wire type " + std::to_string(wire_));
    return true;
  }
  uint32_t field() const { return field_; }
  int wire() const { return wire_; }

  uint64_t varint() {
    expect(Varint);
    return in_.varint64("varint field");
  }
  int64_t int64() { return int64_t(varint()); }  // two's complement, no zigzag (int32/int64 fields)
  uint32_t fixed32() {
    expect(Fixed32);
    return in_.u32("fixed32 field");
  }
  std::span<const uint8_t> bytes() {
    expect(Bytes);
    const uint64_t n = in_.varint64("length");
    if (n > in_.remaining()) in_.fail("protobuf field " + std::to_string(field_) + " of " + std::to_string(n) + " bytes runs past the end");
    return in_.take(size_t(n), "length-delimited field");
  }
  std::string string() {
    const std::span<const uint8_t> b = bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  void skip() {
    switch (wire_) {
      case Varint: in_.varint64("skipped varint"); break;
      case Fixed64: in_.skip(8, "skipped fixed64"); break;
      case Bytes: bytes(); break;
      case Fixed32: in_.skip(4, "skipped fixed32"); break;
    }
  }
  const std::string& label() const { return in_.label(); }
  [[noreturn]] void fail(const std::string& m) const { in_.fail(m); }

 private:
  void expect(int wire) {
    if (wire_ != wire)
      in_.fail("protobuf field " + std::to_string(field_) + " has wire type " + std::to_string(wire_) + ", expected " +
               std::to_string(wire));
  }
  ByteCursor in_;
  uint32_t field_ = 0;
  int wire_ = 0;
};

}  // namespace bb::io
