#pragma once
// Character properties as Python 3.11 (`unicodedata` 14.0.0) reports them, which is what HF's
// BERT tokenizer was run with. ICU supplies the data; characters that ICU knows but Unicode 14
// did not assign are reported as unassigned (Cn), as Python would.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::tok::uni {

bool is_python_space(char32_t c);   // str.isspace(): what str.split() / str.strip() remove
bool is_bert_control(char32_t c);   // BasicTokenizer._is_control: category C*, except \t \n \r
bool is_bert_whitespace(char32_t c);  // _is_whitespace: space, \t \n \r, or category Zs
bool is_bert_punctuation(char32_t c);  // _is_punctuation: ASCII non-alphanumeric symbols or category P*
bool is_cjk_ideograph(char32_t c);  // _is_chinese_char (CJK Unified/Compatibility Ideograph blocks)

// NFC of `chars`, keeping for every output character the [begin, end) span of input positions it
// came from (per-character origins are carried through `begin`/`end`, which must be the same size
// as `chars`; negative origins mark inserted characters). Characters that NFC composes get the
// union of their sources' spans.
void nfc_with_origins(std::u32string& chars, std::vector<int64_t>& begin, std::vector<int64_t>& end);

}  // namespace bb::tok::uni
