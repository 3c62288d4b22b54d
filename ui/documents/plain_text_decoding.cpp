#include "ui/documents/plain_text_decoding.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/utf8.h"

namespace bb::ui::documents {

namespace {

bool startsWith(const QByteArray& b, const char* prefix, int n) { return b.size() >= n && std::equal(prefix, prefix + n, b.data()); }

// Most text encodings other than UTF-8 that users meet are single-byte Windows/ISO code pages.
bool looksLikeLatin1(const QByteArray& b) {
  int high = 0, controls = 0;
  for (char ch : b) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) ++high;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') ++controls;
  }
  return high > 0 && controls == 0;
}

}  // namespace

std::string decodeUtf8Strict(const QByteArray& bytes, const QString& label) {
  const std::string name = label.toStdString();
  if (startsWith(bytes, "\xff\xfe", 2) || startsWith(bytes, "\xfe\xff", 2))
    throw Error(name + ": the text is UTF-16 encoded; save it as UTF-8 and open it again");
  const qsizetype nul = bytes.indexOf('\0');
  if (nul >= 0) throw Error(name + ": looks like a binary file (NUL byte at offset " + std::to_string(nul) + "), not text");
  std::string_view view(bytes.constData(), size_t(bytes.size()));
  if (view.starts_with("\xef\xbb\xbf")) view.remove_prefix(3);
  const int64_t bad = find_invalid_utf8(view);
  if (bad >= 0) {
    const int64_t at = bad + (view.data() - bytes.constData());
    throw Error(name + ": not valid UTF-8 (invalid byte at offset " + std::to_string(at) + ")" +
                (looksLikeLatin1(bytes) ? "; it looks like Latin-1 / Windows-1252: convert it to UTF-8 first"
                                        : "; convert it to UTF-8 first"));
  }
  return std::string(view);
}

}  // namespace bb::ui::documents
