#include "ui/documents/recent_files.h"

#include <QSettings>

namespace bb::ui::documents {

namespace {
const QString kKey = QStringLiteral("documents/recent");
}

RecentFiles::RecentFiles(bool persistent) : persistent_(persistent) {
  if (persistent_) paths_ = QSettings().value(kKey).toStringList().mid(0, kMax);
}

void RecentFiles::add(const QString& path) {
  paths_.removeAll(path);
  paths_.prepend(path);
  while (paths_.size() > kMax) paths_.removeLast();
  save();
}

void RecentFiles::remove(const QString& path) {
  paths_.removeAll(path);
  save();
}

void RecentFiles::clear() {
  paths_.clear();
  save();
}

void RecentFiles::save() const {
  if (persistent_) QSettings().setValue(kKey, paths_);
}

}  // namespace bb::ui::documents
