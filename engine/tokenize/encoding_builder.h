#pragma once
// Assembles an Encoding: collects tokens with code point spans and fills in the byte spans.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/tokenize/tokenizer.h"
#include "engine/core/utf8.h"

namespace bb::tok {

// Code point / byte offset tables of one input text.
struct TextPositions {
  explicit TextPositions(const std::string& text) : decoded(decode_utf8(text)), to_cp(text) {}
  DecodedText decoded;
  ByteToCodePoint to_cp;
  int64_t byte_of(int64_t cp) const { return decoded.byte_at[static_cast<size_t>(cp)]; }
};

class EncodingBuilder {
 public:
  // Token with a code point span of `pos`'s text.
  void add_cp(int32_t id, std::string piece, int64_t cp_begin, int64_t cp_end, const TextPositions& pos,
              int32_t type = 0);
  // Token with a byte span of `pos`'s text.
  void add_bytes(int32_t id, std::string piece, int64_t byte_begin, int64_t byte_end, const TextPositions& pos,
                 int32_t type = 0);
  // Token inserted by the tokenizer ([CLS], [SEP], </s>): offsets [0, 0).
  void add_inserted(int32_t id, std::string piece, int32_t type = 0);
  size_t size() const { return enc_.ids.size(); }
  Encoding take() { return std::move(enc_); }

 private:
  Encoding enc_;
};

}  // namespace bb::tok
