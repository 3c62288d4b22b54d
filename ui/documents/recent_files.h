#pragma once
// The most recently opened documents, newest first, kept in QSettings when `persistent`.
#include <QString>
#include <QStringList>

namespace bb::ui::documents {

class RecentFiles {
 public:
  static constexpr int kMax = 10;
  explicit RecentFiles(bool persistent);
  void add(const QString& path);
  void remove(const QString& path);
  void clear();
  const QStringList& paths() const { return paths_; }

 private:
  void save() const;
  bool persistent_;
  QStringList paths_;
};

}  // namespace bb::ui::documents
