#include "engine/tokenize/bert_basic.h"

#include "engine/tokenize/unicode_props.h"

namespace bb::tok {

namespace {

struct Chars {
  std::u32string text;
  std::vector<int64_t> begin, end;
  void push(char32_t c, int64_t b, int64_t e) {
    text += c;
    begin.push_back(b);
    end.push_back(e);
  }
};

void push_range(std::vector<BasicWord>& out, const Chars& s, size_t from, size_t to) {
  if (from >= to) return;
  BasicWord w;
  w.text = s.text.substr(from, to - from);
  w.begin.assign(s.begin.begin() + from, s.begin.begin() + to);
  w.end.assign(s.end.begin() + from, s.end.begin() + to);
  out.push_back(std::move(w));
}

}  // namespace

std::vector<BasicWord> bert_basic_tokenize(std::u32string_view cps, int64_t origin_base,
                                           const std::unordered_set<std::u32string>& never_split) {
  // 1-3: _clean_text (drop NUL, U+FFFD and controls; whitespace -> ' ') and CJK spacing.
  Chars s;
  s.text.reserve(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (c == 0 || c == 0xFFFD || uni::is_bert_control(c)) continue;
    const int64_t o = origin_base + static_cast<int64_t>(i);
    if (uni::is_bert_whitespace(c)) {
      s.push(U' ', o, o + 1);
    } else if (uni::is_cjk_ideograph(c)) {
      s.push(U' ', -1, -1);
      s.push(c, o, o + 1);
      s.push(U' ', -1, -1);
    } else {
      s.push(c, o, o + 1);
    }
  }
  // 4: NFC.
  uni::nfc_with_origins(s.text, s.begin, s.end);

  // 5-6: str.split(), then split every punctuation character off (unless never_split).
  std::vector<BasicWord> out;
  const size_t n = s.text.size();
  for (size_t i = 0; i < n;) {
    if (uni::is_python_space(s.text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !uni::is_python_space(s.text[j])) ++j;
    if (never_split.count(s.text.substr(i, j - i))) {
      push_range(out, s, i, j);
    } else {
      size_t run = i;
      for (size_t k = i; k < j; ++k) {
        if (!uni::is_bert_punctuation(s.text[k])) continue;
        push_range(out, s, run, k);
        push_range(out, s, k, k + 1);
        run = k + 1;
      }
      push_range(out, s, run, j);
    }
    i = j;
  }
  return out;
}

}  // namespace bb::tok
