#pragma once
// The engine reports text positions in Unicode code points; QString indexes UTF-16 code units.
// They differ after every character outside the BMP (emoji, some CJK), so every highlight goes
// through this map.
#include <QString>
#include <cstdint>
#include <vector>

namespace bb::ui::documents {

class CodePointIndex {
 public:
  CodePointIndex() = default;
  explicit CodePointIndex(const QString& text);
  // UTF-16 position of code point `cp` (clamped to the text).
  int toUtf16(int64_t cp) const;
  int64_t toCodePoint(int utf16) const;

 private:
  std::vector<int> utf16Of_;  // empty when the text is all BMP (identity)
  int64_t codePoints_ = 0;
};

}  // namespace bb::ui::documents
