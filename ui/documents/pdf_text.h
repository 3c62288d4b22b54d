#pragma once
// PDF -> text with Poppler-Qt6, page by page (page starts kept). Encrypted, corrupt and
// image-only PDFs are refused with one line each.
#include <QByteArray>
#include <QString>

#include "ui/documents/document_text.h"

namespace bb::ui::documents {

// Fills text and pageStarts of a DocumentText; throws bb::Error naming `label`.
DocumentText pdfToText(const QByteArray& pdf, const QString& label);

}  // namespace bb::ui::documents
