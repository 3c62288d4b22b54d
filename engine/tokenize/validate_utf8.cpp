#include <cstdio>
#include <string>

#include "engine/core/error.h"
#include "engine/core/utf8.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::tok {

void validate_utf8(const std::string& text) {
  const int64_t bad = find_invalid_utf8(text);
  if (bad < 0) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
  throw Error("text is not valid UTF-8: invalid sequence starting with byte " + std::string(byte) +
              " at byte offset " + std::to_string(bad));
}

}  // namespace bb::tok
