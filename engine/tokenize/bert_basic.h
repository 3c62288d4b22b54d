#pragma once
// HF BertTokenizer's BasicTokenizer (slow, with the NFC step; do_lower_case=False,
// strip_accents=None, tokenize_chinese_chars=True), tracking where each character came from.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace bb::tok {

struct BasicWord {
  std::u32string text;
  std::vector<int64_t> begin, end;  // per character: source span in code points
};

// Tokenizes `cps`; origins are reported as origin_base + index into `cps`.
// Whitespace-separated words listed in `never_split` are kept whole (no punctuation split).
std::vector<BasicWord> bert_basic_tokenize(std::u32string_view cps, int64_t origin_base,
                                           const std::unordered_set<std::u32string>& never_split);

}  // namespace bb::tok
