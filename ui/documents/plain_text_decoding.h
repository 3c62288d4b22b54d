#pragma once
// Bytes of a text file -> UTF-8, strictly: a UTF-8 BOM is dropped, anything that is not valid
// UTF-8 is refused with the byte offset and a guess of what it is (binary, UTF-16, Latin-1).
#include <QByteArray>
#include <QString>
#include <string>

namespace bb::ui::documents {

std::string decodeUtf8Strict(const QByteArray& bytes, const QString& label);

}  // namespace bb::ui::documents
