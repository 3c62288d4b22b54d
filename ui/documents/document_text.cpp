#include "ui/documents/document_text.h"

#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <cstdio>

#include "engine/core/error.h"
#include "engine/core/utf8.h"
#include "ui/documents/html_text.h"
#include "ui/documents/pdf_text.h"
#include "ui/documents/plain_text_decoding.h"

namespace bb::ui::documents {

namespace {

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

bool isBlank(const std::string& text) {
  const DecodedText d = decode_utf8(text);
  return std::all_of(d.cps.begin(), d.cps.end(), [](char32_t c) {
    return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\f' || c == U'\v' || c == 0xA0 ||
           c == 0x3000 || c == 0xFEFF || (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029;
  });
}

}  // namespace

int DocumentText::pageAt(int64_t cp) const {
  if (pageStarts.empty()) return 0;
  const auto it = std::upper_bound(pageStarts.begin(), pageStarts.end(), cp);
  return int(std::max<std::ptrdiff_t>(1, it - pageStarts.begin()));
}

void requireSomeText(const std::string& text, const QString& label) {
  if (text.empty()) throw Error(label.toStdString() + ": the document is empty");
  if (isBlank(text)) throw Error(label.toStdString() + ": the document contains only whitespace");
}

DocumentText readDocumentFile(const QString& path) {
  const QFileInfo info(path);
  const QString label = info.fileName().isEmpty() ? path : info.fileName();
  const std::string name = label.toStdString();
  if (!info.exists()) throw Error(path.toStdString() + ": no such file");
  if (info.isDir()) throw Error(path.toStdString() + ": is a folder, not a document");
  const QString suffix = info.suffix().toLower();
  const bool pdf = suffix == QStringLiteral("pdf");
  const bool html = suffix == QStringLiteral("html") || suffix == QStringLiteral("htm") || suffix == QStringLiteral("xhtml");
  const int64_t limit = pdf ? kMaxPdfBytes : kMaxTextBytes;
  if (info.size() > limit)
    throw Error(name + ": " + megabytes(info.size()) + " is more than the " + megabytes(limit) +
                " limit for documents; split it or open a part");
  if (info.size() == 0) throw Error(name + ": the file is empty");

  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) throw Error(name + ": cannot open (" + f.errorString().toStdString() + ")");
  const QByteArray bytes = f.readAll();
  if (f.error() != QFileDevice::NoError) throw Error(name + ": cannot read (" + f.errorString().toStdString() + ")");

  DocumentText doc;
  if (pdf) {
    doc = pdfToText(bytes, label);
  } else if (html) {
    doc.format = QStringLiteral("html");
    doc.text = htmlToText(bytes, label);
  } else {
    if (bytes.startsWith("%PDF-")) throw Error(name + ": is a PDF with a ." + suffix.toStdString() + " name; rename it to .pdf");
    doc.format = suffix == QStringLiteral("md") || suffix == QStringLiteral("markdown") ? QStringLiteral("markdown")
                                                                                          : QStringLiteral("text");
    doc.text = decodeUtf8Strict(bytes, label);
  }
  requireSomeText(doc.text, label);
  doc.path = info.absoluteFilePath();
  doc.label = label;
  return doc;
}

DocumentText documentFromText(const QString& label, const QString& text) {
  DocumentText doc;
  doc.label = label;
  doc.format = QStringLiteral("text");
  doc.text = text.toStdString();
  if (int64_t(doc.text.size()) > kMaxTextBytes)
    throw Error(label.toStdString() + ": " + megabytes(int64_t(doc.text.size())) + " is more than the " +
                megabytes(kMaxTextBytes) + " limit for documents");
  requireSomeText(doc.text, label);
  return doc;
}

}  // namespace bb::ui::documents
