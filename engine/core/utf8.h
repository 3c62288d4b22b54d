#pragma once
// UTF-8 decoding with positions: every tokenizer reports offsets both in code points and in bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bb {

// Code points of a (validated) UTF-8 string and where each one starts; byte_at has one extra
// entry, the total byte length, so code point i spans [byte_at[i], byte_at[i+1]).
struct DecodedText {
  std::u32string cps;
  std::vector<int64_t> byte_at;
};

// Strict decoder (RFC 3629, the rule of Rust's str::from_utf8): rejects overlong forms, surrogates
// and values above U+10FFFF. Returns the byte offset of the first invalid sequence, or -1 when valid.
int64_t find_invalid_utf8(std::string_view s);
// Same rule as a predicate; *bad_offset receives the first bad byte.
bool is_valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

DecodedText decode_utf8(std::string_view s);  // `s` must be valid UTF-8
void append_utf8(std::string& out, char32_t c);
std::string to_utf8(std::u32string_view cps);

// Maps byte offsets of a text to code point offsets (a byte inside a character maps to that character).
class ByteToCodePoint {
 public:
  explicit ByteToCodePoint(std::string_view s);
  int64_t operator()(int64_t byte) const;

 private:
  std::vector<int64_t> cp_of_byte_;  // size = bytes + 1
};

}  // namespace bb
