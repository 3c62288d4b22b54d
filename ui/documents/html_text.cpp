#include "ui/documents/html_text.h"

#include <QRegularExpression>
#include <QStringConverter>
#include <QTextDocument>

#include "ui/documents/plain_text_decoding.h"

namespace bb::ui::documents {

std::string htmlToText(const QByteArray& html, const QString& label) {
  QString source;
  const auto declared = QStringConverter::encodingForHtml(html);
  if (declared && *declared == QStringConverter::Latin1 && html.indexOf('\0') < 0)
    source = QString::fromLatin1(html);
  else
    source = QString::fromUtf8(decodeUtf8Strict(html, label));

  // QTextDocument would show the bodies of these as text.
  static const QRegularExpression hidden(QStringLiteral("<(script|style|template|noscript)\\b[^>]*>.*?</\\1\\s*>"),
                                         QRegularExpression::CaseInsensitiveOption | QRegularExpression::DotMatchesEverythingOption);
  source.remove(hidden);

  QTextDocument doc;  // reentrant: used here on a worker thread, never laid out
  doc.setHtml(source);
  QString text = doc.toPlainText();
  text.replace(QChar(0xFFFC), QString());             // embedded objects (images)
  text.replace(QChar(0x2028), QLatin1Char('\n'));     // line separators from <br>
  text.replace(QChar(0x2029), QLatin1Char('\n'));
  text.replace(QChar::Nbsp, QLatin1Char(' '));
  return text.trimmed().toStdString();
}

}  // namespace bb::ui::documents
