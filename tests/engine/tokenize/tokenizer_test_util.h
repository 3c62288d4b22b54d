#pragma once
// Shared helpers for the tokenizer tests: bundled vocabulary paths and one cached tokenizer per
// (file, flavor), so every vocabulary is loaded once per test binary.
#include <map>
#include <memory>
#include <string>

#include "engine/tokenize/tokenizer.h"

namespace bb::tok::testing {

inline std::string vocab_path(const std::string& file) { return std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/" + file; }

inline const Tokenizer& cached_tokenizer(const std::string& file, Flavor flavor) {
  static std::map<std::pair<std::string, Flavor>, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[{file, flavor}];
  if (!slot) slot = load_tokenizer(vocab_path(file), flavor);
  return *slot;
}

}  // namespace bb::tok::testing
