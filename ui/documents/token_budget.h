#pragma once
// How a document maps onto a model's input: its token count with the model's tokenizer (special
// tokens included, as the model reads them) and, when it is longer than the model reads, the
// first character that falls outside the window.
#include <cstdint>
#include <string>

#include "engine/tokenize/tokenizer.h"

namespace bb::ui::documents {

struct TokenBudget {
  int64_t tokens = 0;       // whole document, special tokens included
  int64_t limit = 0;        // what the model reads (max_position_embeddings)
  int64_t cutChar = -1;     // code point where the truncated part starts; -1 when everything fits
  int64_t textChars = 0;    // code points of the text
  bool truncated() const { return cutChar >= 0; }
  int64_t droppedTokens() const { return tokens > limit ? tokens - limit : 0; }
};

TokenBudget measureTokens(const bb::tok::Tokenizer& tokenizer, const std::string& text, int64_t limit);

}  // namespace bb::ui::documents
