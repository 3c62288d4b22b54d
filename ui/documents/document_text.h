#pragma once
// A document as the Documents panel holds it: the extracted UTF-8 text, where it came from, and
// (for PDFs) where each page starts, so positions in the text can be reported as page numbers.
#include <QString>
#include <cstdint>
#include <string>
#include <vector>

namespace bb::ui::documents {

// Larger files are refused before they are read: a 4096-token model reads ~20 KB of text, and
// even chunked summarization of 16 MiB means hours of CPU time.
constexpr int64_t kMaxTextBytes = 16LL * 1024 * 1024;
constexpr int64_t kMaxPdfBytes = 64LL * 1024 * 1024;

struct DocumentText {
  QString path;    // empty for pasted text
  QString label;   // file name or "Pasted text"
  QString format;  // "text", "markdown", "html", "pdf"
  std::string text;  // valid UTF-8
  // Code-point offset where each page starts (PDF only; empty otherwise), ascending, first = 0.
  std::vector<int64_t> pageStarts;
  int pages() const { return int(pageStarts.size()); }
  // 1-based page holding code point `cp`, or 0 when the document has no pages.
  int pageAt(int64_t cp) const;
};

// Reads and extracts a file by its extension (.pdf, .html/.htm, everything else as UTF-8 text).
// Throws bb::Error with one line naming the file and the reason (missing, too large, empty,
// binary, wrong encoding, encrypted or corrupt PDF, no text).
DocumentText readDocumentFile(const QString& path);

// Pasted or dropped text; throws bb::Error when it is empty or whitespace only.
DocumentText documentFromText(const QString& label, const QString& text);

// One-line bb::Error when the extracted text has nothing to read.
void requireSomeText(const std::string& text, const QString& label);

}  // namespace bb::ui::documents
