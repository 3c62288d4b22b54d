#include "ui/lab_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace bb::ui {

QString resourceDir() {
  const QString env = qEnvironmentVariable("BIGBIRD_RESOURCES");
  if (!env.isEmpty()) return QDir(env).absolutePath();
  if (QCoreApplication::instance()) {
    const QString installed =
        QDir(QCoreApplication::applicationDirPath()).absoluteFilePath(QStringLiteral("../share/bigbird-studio/resources"));
    if (QFileInfo(installed).isDir()) return QDir(installed).absolutePath();
  }
  return QStringLiteral(BIGBIRD_RESOURCE_DIR);
}

QString defaultModelDir() { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("models/default")); }
QString samplesDir() { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("samples")); }
QString bundledVocab(const QString& file) { return QDir(resourceDir()).absoluteFilePath(QStringLiteral("vocab/") + file); }

}  // namespace bb::ui
