#include "engine/core/utf8.h"

#include <cstdio>

#include "engine/core/error.h"

namespace bb {

namespace {

// Length of the sequence starting at s[i] and its code point, or 0 when invalid.
int decode_one(std::string_view s, size_t i, char32_t* out) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *out = b0;
    return 1;
  }
  int len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *out = cp;
  return len;
}

}  // namespace

bool is_valid_utf8(std::string_view s, size_t* bad_offset) {
  const int64_t bad = find_invalid_utf8(s);
  if (bad >= 0 && bad_offset) *bad_offset = size_t(bad);
  return bad < 0;
}

int64_t find_invalid_utf8(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const int len = decode_one(s, i, &cp);
    if (len == 0) return static_cast<int64_t>(i);
    i += len;
  }
  return -1;
}

DecodedText decode_utf8(std::string_view s) {
  DecodedText d;
  d.cps.reserve(s.size());
  d.byte_at.reserve(s.size() + 1);
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    int len = decode_one(s, i, &cp);
    if (len == 0) throw Error("internal: decode_utf8 called on invalid UTF-8 at byte offset " + std::to_string(i));
    d.cps.push_back(cp);
    d.byte_at.push_back(static_cast<int64_t>(i));
    i += len;
  }
  d.byte_at.push_back(static_cast<int64_t>(s.size()));
  return d;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string to_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

ByteToCodePoint::ByteToCodePoint(std::string_view s) : cp_of_byte_(s.size() + 1) {
  int64_t cp = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++cp;
    cp_of_byte_[i] = cp < 0 ? 0 : cp;
  }
  cp_of_byte_[s.size()] = cp + 1;
}

int64_t ByteToCodePoint::operator()(int64_t byte) const {
  if (byte < 0) return 0;
  if (byte >= static_cast<int64_t>(cp_of_byte_.size())) return cp_of_byte_.back();
  return cp_of_byte_[byte];
}

}  // namespace bb
