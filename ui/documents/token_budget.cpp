#include "ui/documents/token_budget.h"

#include "engine/core/utf8.h"

namespace bb::ui::documents {

TokenBudget measureTokens(const bb::tok::Tokenizer& tokenizer, const std::string& text, int64_t limit) {
  TokenBudget b;
  const bb::tok::Encoding e = tokenizer.encode(text);
  b.tokens = int64_t(e.ids.size());
  b.limit = limit;
  b.textChars = int64_t(decode_utf8(text).cps.size());
  if (b.tokens <= limit) return b;
  // Inserted specials ([CLS], [SEP], </s>) have empty spans and are kept when a document is cut,
  // so the window holds limit - specials tokens of text.
  int64_t specials = 0;
  for (const auto& [begin, end] : e.offsets) specials += begin == end ? 1 : 0;
  const int64_t keep = limit - specials;
  int64_t seen = 0;
  for (const auto& [begin, end] : e.offsets) {
    if (begin == end) continue;
    if (seen++ == keep) {
      b.cutChar = begin;
      break;
    }
  }
  if (b.cutChar < 0) b.cutChar = b.textChars;
  return b;
}

}  // namespace bb::ui::documents
