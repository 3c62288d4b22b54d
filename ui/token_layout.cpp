#include "ui/token_layout.h"

#include <algorithm>

#include "ui/lab_session.h"

namespace bb::ui {

namespace {

constexpr float kBadgePad = 6.0f;  // extra width of a special-token badge

}  // namespace

int TokenLayout::lineAt(float y) const {
  if (lines.empty()) return -1;
  const auto it = std::upper_bound(lines.begin(), lines.end(), y, [](float v, const TokenLine& l) { return v < l.y; });
  return std::max(0, int(it - lines.begin()) - 1);
}

int64_t TokenLayout::tokenAt(float x, float y) const {
  const int l = lineAt(y);
  if (l < 0 || y < 0 || y >= height) return -1;
  const TokenLine& line = lines[size_t(l)];
  for (int64_t t = line.first; t <= line.last; ++t) {
    const TokenBox& b = boxes[size_t(t)];
    if (b.line == l && x >= b.x0 && x < b.x1) return t;
  }
  return -1;
}

namespace {

// One token as drawn: the whitespace before it (from the source between tokens plus the token's
// own leading whitespace, e.g. SentencePiece's "▁"), the visible text, and line breaks after it.
struct Piece {
  std::string gap, body;
  int breaksAfter = 0;
  bool special = false;
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<Piece> pieces(const LabDocument& doc) {
  std::vector<Piece> out(size_t(doc.tokens()));
  int64_t prevEnd = -1;
  for (int64_t t = 0; t < doc.tokens(); ++t) {
    Piece& p = out[size_t(t)];
    if (doc.isSpecial(t)) {
      p.special = true;
      p.body = doc.encoding.pieces[size_t(t)];
      continue;
    }
    const auto [begin, end] = doc.encoding.offsets_utf8[size_t(t)];
    if (prevEnd >= 0 && begin > prevEnd) p.gap = doc.text.substr(size_t(prevEnd), size_t(begin - prevEnd));
    prevEnd = end;
    const std::string text = doc.tokenText(t);
    size_t lead = 0;
    while (lead < text.size() && isSpace(text[lead])) ++lead;
    if (lead == text.size()) {
      // A token of whitespace only (gpt2.model's <unk> for "\n\n"): a mark, then its line breaks.
      const int breaks = int(std::count(text.begin(), text.end(), '\n'));
      p.body = breaks > 0 ? "¶" : "·";
      p.breaksAfter = breaks;
      continue;
    }
    p.gap += text.substr(0, lead);
    p.body = text.substr(lead);
  }
  return out;
}

}  // namespace

TokenLayout layoutTokens(const LabDocument& doc, float wrapWidth, float lineHeight,
                         const std::function<float(const std::string&)>& measure) {
  TokenLayout out;
  out.lineHeight = lineHeight;
  out.width = wrapWidth;
  const int64_t n = doc.tokens();
  out.boxes.resize(size_t(n));
  const float space = measure(" ");
  const std::vector<Piece> ps = pieces(doc);
  std::vector<float> widths(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t)
    widths[size_t(t)] = measure(ps[size_t(t)].body) + (ps[size_t(t)].special ? kBadgePad : 0.0f);

  float x = 0;
  auto newLine = [&] {
    TokenLine l;
    l.y = out.lines.empty() ? 0.0f : out.lines.back().y + lineHeight;
    l.first = out.lines.empty() ? 0 : out.lines.back().last + 1;
    l.last = l.first - 1;
    out.lines.push_back(l);
    x = 0;
  };
  newLine();
  auto startsWord = [&](int64_t t) {
    const Piece& p = ps[size_t(t)];
    return t == 0 || p.special || ps[size_t(t - 1)].special || !p.gap.empty() || ps[size_t(t - 1)].breaksAfter > 0;
  };
  for (int64_t i = 0; i < n;) {
    int64_t j = i + 1;
    while (j < n && !startsWord(j)) ++j;  // tokens i..j-1 form one word
    // The gap: spaces advance (dropped at the start of a line), line breaks start new lines.
    float pending = 0;
    for (char c : ps[size_t(i)].gap) {
      if (c == '\n') {
        newLine();
        pending = 0;
      } else if (c == '\t') {
        pending += space * 4;
      } else if (c == ' ') {
        pending += space;
      }
    }
    if (ps[size_t(i)].special && x > 0) pending = std::max(pending, space * 0.5f);
    float wordWidth = 0;
    for (int64_t t = i; t < j; ++t) wordWidth += widths[size_t(t)];
    if (x > 0 && x + pending + wordWidth > wrapWidth) newLine();
    else x += pending;
    for (int64_t t = i; t < j; ++t) {
      const float w = widths[size_t(t)];
      if (x > 0 && x + w > wrapWidth) newLine();  // a word wider than the line breaks inside
      TokenBox& b = out.boxes[size_t(t)];
      b.line = int(out.lines.size()) - 1;
      b.x0 = x;
      b.x1 = x + w;
      b.text = ps[size_t(t)].body;
      b.special = ps[size_t(t)].special;
      out.lines.back().last = t;
      x += w;
      for (int k = 0; k < ps[size_t(t)].breaksAfter; ++k) newLine();
    }
    i = j;
  }
  out.height = out.lines.back().y + lineHeight;
  return out;
}

}  // namespace bb::ui
