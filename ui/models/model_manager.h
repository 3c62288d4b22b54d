#pragma once
// The model manager: the models of the HF cache, the studio's data directory and the bundled
// default (model_catalog), their details (model_details), import from a folder or a file of any
// checkpoint format (model_import), download from the hub into the HF cache with progress and
// cancel (engine/io/hub_client; $HF_ENDPOINT honoured), delete with confirmation, and "use" —
// which makes the selection the app's current model. Slow work runs on the task manager's worker.
#include <QString>
#include <QWidget>
#include <functional>
#include <memory>
#include <vector>

#include "ui/models/model_catalog.h"

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTreeWidget;

namespace bb::ui {

class TaskManager;

class ModelManager : public QWidget {
  Q_OBJECT

 public:
  ModelManager(TaskManager* tasks, ModelRoots roots, QWidget* parent = nullptr);
  ~ModelManager() override;

  const ModelRoots& roots() const { return roots_; }
  void refresh();
  const std::vector<ModelEntry>& entries() const { return entries_; }
  QTreeWidget* list() const { return list_; }
  int indexOfPath(const QString& path) const;  // -1 when not listed
  void select(int index);                       // also loads its details
  const ModelEntry* selected() const;

  QString detailsText() const;
  void importFrom(const QString& path);                           // asynchronous: imported() / failed()
  void download(const QString& repoRef, const QString& endpoint = {});  // asynchronous: downloadFinished()
  void cancelDownload();
  bool downloading() const;
  double downloadProgress() const { return downloadProgress_; }  // of the current file, [0, 1]
  bool deleteSelected();  // asks first; true when deleted
  void useSelected();     // emits currentModelChanged
  QString errorText() const { return error_; }

  // Tests and embedding: replaces the "really delete?" dialog.
  void setConfirm(std::function<bool(const QString&)> confirm) { confirm_ = std::move(confirm); }

 signals:
  void currentModelChanged(const QString& dir);
  void detailsReady(bool ok);
  void imported(const QString& dir);
  void downloadFinished(bool ok, const QString& message);
  void failed(const QString& error);

 private:
  void showError(const QString& text);
  void loadDetails(const ModelEntry& m);
  void updateButtons();

  TaskManager* tasks_;
  ModelRoots roots_;
  std::vector<ModelEntry> entries_;
  QTreeWidget* list_;
  QPlainTextEdit* details_;
  QLineEdit* repo_;
  QProgressBar* progress_;
  QLabel *progressLabel_, *errorLabel_;
  QPushButton *use_, *delete_, *download_, *cancel_;
  int downloadTask_ = 0;
  double downloadProgress_ = 0;
  QString error_;
  std::function<bool(const QString&)> confirm_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bb::ui
