#include "engine/tokenize/sp_model_proto.h"

#include <cstring>

#include "engine/core/error.h"

namespace bb::tok {

namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  int wire = 0;
  uint64_t varint = 0;
  std::string_view payload;  // length-delimited contents, or the raw 4/8 fixed bytes
  size_t begin = 0, end = 0;  // whole field (key included) within the parent message
};

class Reader {
 public:
  Reader(std::string_view data, const std::string& what) : d_(data), what_(what) {}
  bool done() const { return pos_ >= d_.size(); }

  Field next() {
    Field f;
    f.begin = pos_;
    const uint64_t key = varint();
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire = static_cast<int>(key & 7);
    if (f.number == 0) fail("field number 0");
    switch (f.wire) {
      case kVarint:
        f.varint = varint();
        break;
      case kFixed64:
        f.payload = take(8);
        break;
      case kFixed32:
        f.payload = take(4);
        break;
      case kLengthDelimited: {
        const uint64_t len = varint();
        if (len > d_.size() - pos_) fail("length-delimited field runs past the end");
        f.payload = take(static_cast<size_t>(len));
        break;
      }
      default:
        fail("unsupported wire type " + std::to_string(f.wire));
    }
    f.end = pos_;
    return f;
  }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) fail("truncated varint");
      const auto b = static_cast<unsigned char>(d_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return v;
    }
    fail("varint longer than 10 bytes");
  }
  std::string_view take(size_t n) {
    if (n > d_.size() - pos_) fail("truncated field");
    auto s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": not a SentencePiece model (malformed protobuf at byte " + std::to_string(pos_) + ": " +
                why + ")");
  }

  std::string_view d_;
  const std::string& what_;
  size_t pos_ = 0;
};

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, uint32_t number, int wire) { put_varint(out, (uint64_t{number} << 3) | wire); }

// int32 fields are encoded as sign-extended 64-bit varints.
void put_int32_field(std::string& out, uint32_t number, int value) {
  put_key(out, number, kVarint);
  put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(value)));
}

SpPiece parse_piece(std::string_view msg, const std::string& what) {
  SpPiece p;
  Reader r(msg, what);
  while (!r.done()) {
    Field f = r.next();
    if (f.number == 1 && f.wire == kLengthDelimited) {
      p.piece.assign(f.payload);
    } else if (f.number == 2 && f.wire == kFixed32) {
      std::memcpy(&p.score, f.payload.data(), 4);
    } else if (f.number == 3 && f.wire == kVarint) {
      if (f.varint < 1 || f.varint > 6) throw Error(what + ": not a SentencePiece model (bad piece type)");
      p.type = static_cast<SpPieceType>(f.varint);
    }
  }
  return p;
}

std::string rewrite_trainer_spec(std::string_view spec, int new_unk_id, int new_bos_id, const std::string& what) {
  std::string out;
  Reader r(spec, what);
  while (!r.done()) {
    Field f = r.next();
    if (f.number == 40 && f.wire == kVarint)
      put_int32_field(out, 40, new_unk_id);
    else if (f.number == 41 && f.wire == kVarint)
      put_int32_field(out, 41, new_bos_id);
    else
      out.append(spec.substr(f.begin, f.end - f.begin));
  }
  return out;
}

}  // namespace

std::vector<SpPiece> read_sp_pieces(std::string_view proto, const std::string& what) {
  std::vector<SpPiece> pieces;
  Reader r(proto, what);
  while (!r.done()) {
    Field f = r.next();
    if (f.number == 1) {
      if (f.wire != kLengthDelimited) throw Error(what + ": not a SentencePiece model (field 1 is not a message)");
      pieces.push_back(parse_piece(f.payload, what));
    }
  }
  if (pieces.empty()) throw Error(what + ": not a SentencePiece model (no pieces)");
  return pieces;
}

std::string remove_sp_pieces(std::string_view proto, int first, int last, int new_unk_id, int new_bos_id,
                             const std::string& what) {
  std::string out;
  out.reserve(proto.size());
  Reader r(proto, what);
  int piece_index = 0;
  while (!r.done()) {
    Field f = r.next();
    if (f.number == 1) {
      const int id = piece_index++;
      if (id >= first && id <= last) continue;
      out.append(proto.substr(f.begin, f.end - f.begin));
    } else if (f.number == 2 && f.wire == kLengthDelimited) {
      const std::string spec = rewrite_trainer_spec(f.payload, new_unk_id, new_bos_id, what);
      put_key(out, 2, kLengthDelimited);
      put_varint(out, spec.size());
      out += spec;
    } else {
      out.append(proto.substr(f.begin, f.end - f.begin));
    }
  }
  if (piece_index <= last)
    throw Error(what + ": expected at least " + std::to_string(last + 1) + " pieces, found " +
                std::to_string(piece_index));
  return out;
}

}  // namespace bb::tok
