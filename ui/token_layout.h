#pragma once
// Lays a tokenised document out as wrapped text with its source formatting: the whitespace and
// line breaks between tokens come from the source, words (runs of tokens with no gap) wrap as a
// whole, inserted specials ([CLS], [SEP]) become small badges. The result is one box per token
// and a list of lines, so the view can draw only the visible lines and hit-test clicks quickly.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bb::ui {

struct LabDocument;

struct TokenBox {
  int line = -1;
  float x0 = 0, x1 = 0;  // within the line, from the left edge
  std::string text;      // what is drawn ("¶" for a token made of line breaks)
  bool special = false;
};

struct TokenLine {
  float y = 0;  // top, from the top of the text
  int64_t first = 0, last = -1;  // tokens [first, last] on this line (last < first: empty line)
};

struct TokenLayout {
  std::vector<TokenBox> boxes;  // one per token
  std::vector<TokenLine> lines;
  float lineHeight = 0, width = 0, height = 0;
  // The line at y (clamped), and the token at (x, y) or -1.
  int lineAt(float y) const;
  int64_t tokenAt(float x, float y) const;
};

// `measure` returns the width of a UTF-8 string in the font used to draw it.
TokenLayout layoutTokens(const LabDocument& doc, float wrapWidth, float lineHeight,
                         const std::function<float(const std::string&)>& measure);

}  // namespace bb::ui
