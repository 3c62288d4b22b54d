#pragma once
// The Remote panel: one saved runner (URL + token, and a CA file for a self-signed TLS runner),
// stored by the engine in the user's runners.json with mode 0600 (the same file `bigbird remote`
// uses); "Test connection" (health, protocol, backend, models); the runner's jobs with their
// state, cancel and artifact download. Network calls run on background threads; the UI thread
// never waits for the runner.
#include <QString>
#include <QWidget>
#include <functional>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace bb::ui::remote {

class RemotePanel : public QWidget {
  Q_OBJECT

 public:
  // runnersFile: where runners are saved ("" = the engine's default, ~/.config/bigbird-studio/runners.json).
  explicit RemotePanel(const QString& runnersFile = {}, QWidget* parent = nullptr);

  QLineEdit* nameEdit() const { return name_; }
  QLineEdit* urlEdit() const { return url_; }
  QLineEdit* tokenEdit() const { return token_; }
  QLineEdit* caCertEdit() const { return caCert_; }
  QLabel* statusLabel() const { return status_; }
  QTableWidget* jobsTable() const { return jobs_; }

 public slots:
  bool save();  // false (and the reason in the status line) when the fields are incomplete
  void testConnection();
  void refreshJobs();
  void cancelSelected();
  void fetchSelected(const QString& directory = {});  // "" = ask for a directory

 signals:
  void connectionTested(bool ok, const QString& message);
  void jobsRefreshed(bool ok, int count);
  void artifactsFetched(bool ok, const QString& message);
  void runnersSaved();  // runners.json changed: backend choices elsewhere reload it

 private:
  // Runs `work` on a background thread; the function it returns runs on the UI thread (if the
  // panel still exists).
  void inBackground(std::function<std::function<void()>()> work);
  void load();
  QString selectedJob() const;

  QString runnersFile_;
  QLineEdit *name_, *url_, *token_, *caCert_;
  QLabel* status_;
  QTableWidget* jobs_;
};

}  // namespace bb::ui::remote
