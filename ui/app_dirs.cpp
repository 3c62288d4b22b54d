#include "ui/app_dirs.h"

#include <QCoreApplication>
#include <QSettings>

#include "engine/core/error.h"
#include "engine/core/xdg_dirs.h"

namespace bb::ui {

void useXdgSettings() {
  QCoreApplication::setOrganizationName(QString::fromLatin1(bb::xdg::kAppDirName));
  QCoreApplication::setApplicationName(QString::fromLatin1(bb::xdg::kAppDirName));
  try {
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, QString::fromStdString(bb::xdg::config_home()));
  } catch (const bb::Error&) {
    // No usable HOME: Qt's own default location (or none) is the best there is.
  }
}

QString settingsFile() { return QSettings().fileName(); }
QString userDataDir() { return QString::fromStdString(bb::xdg::app_data_dir()); }
QString crashReportDir() { return userDataDir() + QStringLiteral("/reports"); }

}  // namespace bb::ui
