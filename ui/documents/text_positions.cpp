#include "ui/documents/text_positions.h"

#include <algorithm>

namespace bb::ui::documents {

CodePointIndex::CodePointIndex(const QString& text) {
  bool bmp = true;
  for (QChar c : text) bmp = bmp && !c.isHighSurrogate();
  if (bmp) {
    codePoints_ = text.size();
    return;
  }
  for (int i = 0; i < text.size(); ++i) {
    utf16Of_.push_back(i);
    if (text[i].isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate()) ++i;
  }
  codePoints_ = int64_t(utf16Of_.size());
  utf16Of_.push_back(int(text.size()));
}

int CodePointIndex::toUtf16(int64_t cp) const {
  cp = std::clamp<int64_t>(cp, 0, codePoints_);
  return utf16Of_.empty() ? int(cp) : utf16Of_[size_t(cp)];
}

int64_t CodePointIndex::toCodePoint(int utf16) const {
  if (utf16Of_.empty()) return std::clamp<int64_t>(utf16, 0, codePoints_);
  return std::upper_bound(utf16Of_.begin(), utf16Of_.end(), utf16) - utf16Of_.begin() - 1;
}

}  // namespace bb::ui::documents
