#include "ui/documents/pdf_text.h"

#include <poppler-qt6.h>

#include <memory>

#include "engine/core/error.h"
#include "engine/core/utf8.h"

namespace bb::ui::documents {

DocumentText pdfToText(const QByteArray& pdf, const QString& label) {
  const std::string name = label.toStdString();
  if (!pdf.startsWith("%PDF-")) throw Error(name + ": not a PDF file (no %PDF- header)");
  std::unique_ptr<Poppler::Document> doc = Poppler::Document::loadFromData(pdf);
  if (!doc) throw Error(name + ": the PDF is corrupt or truncated (Poppler cannot read it)");
  if (doc->isLocked()) throw Error(name + ": the PDF is encrypted with a password; save an unprotected copy and open that");
  const int pages = doc->numPages();
  if (pages <= 0) throw Error(name + ": the PDF is corrupt or has no pages");

  DocumentText out;
  out.format = QStringLiteral("pdf");
  int64_t cps = 0;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<Poppler::Page> page = doc->page(i);
    QString text = page ? page->text(QRectF()) : QString();
    text.replace(QChar(0x2028), QLatin1Char('\n'));
    text = text.trimmed();
    if (i > 0) {
      out.text += "\n\n";
      cps += 2;
    }
    out.pageStarts.push_back(cps);
    const std::string utf8 = text.toStdString();
    out.text += utf8;
    cps += int64_t(decode_utf8(utf8).cps.size());
  }
  bool blank = true;
  for (char c : out.text) blank = blank && (c == ' ' || c == '\n' || c == '\t' || c == '\r');
  if (blank)
    throw Error(name + ": the PDF has " + std::to_string(pages) + " page(s) but no text layer (a scan?); run OCR on it first");
  return out;
}

}  // namespace bb::ui::documents
