// The input/output conventions of google-research/bigbird's summarization pipeline
// (run_summarization.py) for BigBird-Pegasus, which the raw pegasus.model ids assume.
#include "engine/tokenize/tokenizer.h"
#include "engine/tokenize/unicode_props.h"
#include "engine/core/utf8.h"

namespace bb::tok {

std::string pegasus_tf_preprocess(const std::string& text) {
  validate_utf8(text);
  std::u32string s;
  for (char32_t c : decode_utf8(text).cps) {
    if (c == U'\n')
      s += U"<n>";
    else
      s += c;
  }
  // re.sub(r" ([<\[]\S+[>\]])", r"\1", s): drop the space before a bracketed token. \S+ is greedy,
  // so the match runs to the last '>' or ']' of the following non-space run (at least one char between).
  std::u32string out;
  out.reserve(s.size());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (s[i] == U' ' && i + 1 < n && (s[i + 1] == U'<' || s[i + 1] == U'[')) {
      size_t run_end = i + 2;
      while (run_end < n && !uni::is_python_space(s[run_end])) ++run_end;
      size_t close = run_end;
      for (size_t k = run_end; k > i + 3; --k) {
        if (s[k - 1] == U'>' || s[k - 1] == U']') {
          close = k - 1;
          break;
        }
      }
      if (close != run_end) {
        out.append(s, i + 1, close + 1 - (i + 1));
        i = close + 1;
        continue;
      }
    }
    out += s[i];
    ++i;
  }
  return to_utf8(out);
}

std::string pegasus_tf_postprocess(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "<n>") == 0) {
      out += '\n';
      i += 3;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace bb::tok
