#include "ui/lab_paths.h"

#include <QDir>

#include "engine/core/resource_dir.h"

namespace bb::ui {

QString resourceDir() {
  return QDir(QString::fromStdString(bb::resource_dir())).absolutePath();  // one lookup for CLI and studio
}

QString defaultModelDir() { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("default-model")); }
QString samplesDir() { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("samples")); }
QString bundledVocab(const QString& file) { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("vocab/") + file); }

}  // namespace bb::ui
