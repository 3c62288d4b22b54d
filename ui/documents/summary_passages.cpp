#include "ui/documents/summary_passages.h"

#include <algorithm>
#include <numeric>

#include "engine/core/utf8.h"

namespace bb::ui::documents {

namespace {

bool isSpace(char32_t c) { return c == U' ' || c == U'\n' || c == U'\t' || c == U'\r' || c == 0xA0; }
bool endsSentence(char32_t c) { return c == U'.' || c == U'!' || c == U'?' || c == 0x3002; }

// The source sentence around code point `at`, at most `reach` characters either way.
std::pair<int64_t, int64_t> sentenceAround(const std::u32string& text, int64_t at, int64_t reach = 300) {
  const int64_t n = int64_t(text.size());
  at = std::clamp<int64_t>(at, 0, std::max<int64_t>(0, n - 1));
  int64_t b = at;
  while (b > 0 && at - b < reach && text[size_t(b - 1)] != U'\n' &&
         !(endsSentence(text[size_t(b - 1)]) && isSpace(text[size_t(b)])))
    --b;
  int64_t e = at;
  while (e < n && e - at < reach && text[size_t(e)] != U'\n' &&
         !(endsSentence(text[size_t(e)]) && (e + 1 == n || isSpace(text[size_t(e + 1)]))))
    ++e;
  if (e < n && text[size_t(e)] != U'\n') ++e;  // keep the full stop
  while (b < e && isSpace(text[size_t(b)])) ++b;
  return {b, e};
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> sentenceSpans(const std::u32string& text) {
  std::vector<std::pair<int64_t, int64_t>> out;
  const int64_t n = int64_t(text.size());
  int64_t start = 0;
  auto flush = [&](int64_t end) {
    int64_t b = start;
    while (b < end && isSpace(text[size_t(b)])) ++b;
    int64_t e = end;
    while (e > b && isSpace(text[size_t(e - 1)])) --e;
    if (e > b) out.push_back({b, e});
    start = end;
  };
  for (int64_t i = 0; i < n; ++i) {
    if (text[size_t(i)] == U'\n') flush(i + 1);
    else if (endsSentence(text[size_t(i)]) && (i + 1 == n || isSpace(text[size_t(i + 1)]))) flush(i + 1);
  }
  flush(n);
  return out;
}

std::vector<SummarySentence> mapSummaryToSource(const bb::gen::SummaryResult& result, const bb::tok::Tokenizer& tokenizer,
                                                const std::string& document, int maxPassages) {
  std::vector<SummarySentence> out;
  const std::u32string source = decode_utf8(document).cps;
  int64_t chunkStart = 0;  // code point where this chunk's text starts in result.summary
  for (const bb::gen::ChunkSummary& ch : result.chunks) {
    const std::u32string chunkText = decode_utf8(ch.text).cps;
    // Where each generated token ends in the chunk text: decode growing prefixes.
    std::vector<int64_t> tokenEnd;
    const bool attention = !ch.cross_attention.empty() && ch.cross_attention.size() == ch.summary_ids.size();
    if (attention) {
      std::vector<int32_t> prefix;
      for (int64_t id : ch.summary_ids) {
        prefix.push_back(int32_t(id));
        // As the summarizer detokenizes: "<n>" shown as a newline.
        const std::string shown = bb::tok::pegasus_tf_postprocess(tokenizer.decode(prefix, true));
        tokenEnd.push_back(std::min<int64_t>(int64_t(decode_utf8(shown).cps.size()), int64_t(chunkText.size())));
      }
    }
    for (const auto& [sb, se] : sentenceSpans(chunkText)) {
      SummarySentence s;
      s.begin = chunkStart + sb;
      s.end = chunkStart + se;
      if (attention) {
        std::vector<float> mass(ch.input_ids.size(), 0.0f);
        int64_t previousEnd = 0;
        for (size_t t = 0; t < tokenEnd.size(); ++t) {
          // Token t produced the characters [previousEnd, tokenEnd[t]); it belongs to the sentence they overlap.
          const bool inside = tokenEnd[t] > sb && previousEnd < se;
          previousEnd = tokenEnd[t];
          if (!inside) continue;
          const std::vector<float>& row = ch.cross_attention[t];
          for (size_t k = 0; k < mass.size() && k < row.size(); ++k) mass[k] += row[k];
        }
        std::vector<size_t> order(mass.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mass[a] > mass[b]; });
        for (size_t k : order) {
          if (int(s.passages.size()) >= maxPassages) break;
          const std::pair<int64_t, int64_t> token = ch.input_spans[k];
          if (token.second <= token.first || mass[k] <= 0) continue;  // </s> and other inserted tokens
          const std::pair<int64_t, int64_t> around = sentenceAround(source, token.first);
          const SourcePassage passage{around.first, std::max(around.second, token.second), mass[k]};
          const bool seen = std::any_of(s.passages.begin(), s.passages.end(), [&](const SourcePassage& p) {
            return p.begin == passage.begin && p.end == passage.end;
          });
          if (!seen) s.passages.push_back(passage);
        }
      }
      out.push_back(std::move(s));
    }
    chunkStart += int64_t(chunkText.size()) + 1;  // chunks are joined by "\n"
  }
  return out;
}

}  // namespace bb::ui::documents
