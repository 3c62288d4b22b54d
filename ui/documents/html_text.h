#pragma once
// HTML -> plain text: scripts and styles dropped, block elements become line breaks, entities
// decoded. UTF-8 unless the page declares Latin-1 (<meta charset>).
#include <QByteArray>
#include <QString>
#include <string>

namespace bb::ui::documents {

std::string htmlToText(const QByteArray& html, const QString& label);

}  // namespace bb::ui::documents
