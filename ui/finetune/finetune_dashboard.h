#pragma once
// The fine-tuning dashboard: task, model, dataset (checked by the engine's loaders on the task
// manager's worker, with a preview of the first rows), hyper-parameters with the BigBird recipe
// defaults, backend, an estimate of time and memory, then start / pause / resume / cancel and
// resume-from-checkpoint of an engine TrainingJob (its own thread; the GUI only polls its event
// queue from a timer, so nothing here blocks the UI thread), live plots, the checkpoints of the run
// and their export as HF safetensors directories.
#include <QString>
#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

#include "engine/remote/token_file.h"

#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"
#include "ui/finetune/dataset_check.h"
#include "ui/finetune/training_series.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTimer;
class QTreeWidget;

namespace bb::ui {

class ImGuiWidget;
class TaskManager;
class TrainingPlotsView;

class FinetuneDashboard : public QWidget {
  Q_OBJECT

 public:
  explicit FinetuneDashboard(TaskManager* tasks, QWidget* parent = nullptr);
  ~FinetuneDashboard() override;  // cancels a running job and waits for its current step

  // The form, for the main window and tests (each also editable in the UI).
  void setTask(train::Task task);
  void setModelDir(const QString& dir);
  QString modelDir() const;
  void setTrainFile(const QString& path);
  void setOutDir(const QString& dir);
  void applyRecipe();  // the recipe defaults for the current task and model
  QSpinBox* maxLengthBox() const { return maxLength_; }
  QSpinBox* batchBox() const { return batch_; }
  QSpinBox* stepsBox() const { return steps_; }
  QSpinBox* evalEveryBox() const { return evalEvery_; }
  QSpinBox* saveEveryBox() const { return saveEvery_; }
  QLineEdit* lrEdit() const { return lr_; }
  QComboBox* backendBox() const { return backend_; }
  QComboBox* taskBox() const { return task_; }

  // The settings as the trainer will get them (throws bb::Error for an unusable field).
  train::TrainerConfig trainerConfig(bool resume) const;

  void checkDataset();  // asynchronous; datasetChecked() when done
  const DatasetCheck& lastCheck() const { return check_; }
  QTableWidget* previewTable() const { return preview_; }
  QString datasetMessage() const;
  QString estimateText() const;

  // Job control (all return at once).
  bool start();                 // false (with the reason shown) when a job runs or the form is invalid
  bool resumeFromCheckpoint();  // continue the run in the output directory from its latest checkpoint
  void pause();
  void resume();
  void cancel();
  bool running() const { return (job_ && !job_->done()) || remoteTask_ != 0; }
  // Runners saved in the Remote dock: each becomes a "Remote: name" backend. A remote run uploads
  // the model and the data, follows the runner's metric events into the same plots, and downloads
  // the fine-tuned model into Studio's models folder (modelExported).
  void setRunners(const std::vector<bb::remote::SavedRunner>& runners);
  QString remoteModelDir() const { return remoteModelDir_; }  // where the last remote run's model came back
  std::optional<jobs::JobState> state() const;
  QString errorText() const;   // the engine's message of a failed run (empty otherwise)
  QString statusText() const;

  const TrainingSeries& series() const { return *series_; }
  TrainingPlotsView* plotsView() const { return plots_; }  // null without OpenGL
  ImGuiWidget* plotsWidget() const { return plotsWidget_; }
  QTreeWidget* checkpointList() const { return checkpoints_; }
  void refreshCheckpoints();
  // Exports a checkpoint (or the final model/) of the current output directory into dst.
  void exportTo(const QString& sourceDir, const QString& dst);

 signals:
  void datasetChecked(bool ok);
  void jobEvent(int kind);  // train::TrainingEvent::Kind
  void jobFinished(int state);  // jobs::JobState
  void modelExported(const QString& dir);

 private:
  QWidget* buildForm();
  QWidget* buildRunPanel();
  void poll();
  void handle(const train::TrainingEvent& e);
  void updateButtons();
  void updateEstimate();
  void showError(const QString& text);
  void scheduleCheck();
  void exportSelected();
  bool launch(bool resume);
  bool launchRemote(const train::TrainerConfig& c, const bb::remote::SavedRunner& runner);
  void remoteTaskFinished(bool ok, const QString& error);

  TaskManager* tasks_;
  QComboBox *task_, *format_, *schedule_, *optimizer_, *backend_, *attention_;
  QLineEdit *model_, *train_, *eval_, *out_, *lr_, *textColumn_, *labelColumn_;
  QSpinBox *maxLength_, *batch_, *accum_, *steps_, *warmup_, *evalEvery_, *saveEvery_, *seed_;
  QDoubleSpinBox *epochs_, *weightDecay_, *clip_;
  QCheckBox* checkpointing_;
  QLabel *datasetLabel_, *estimateLabel_, *statusLabel_, *errorLabel_;
  QTableWidget* preview_;
  QProgressBar* progress_;
  QPushButton *start_, *pause_, *cancel_, *resumeCkpt_, *export_;
  QTreeWidget* checkpoints_;
  QPlainTextEdit* log_;
  QTimer *pollTimer_, *checkTimer_;
  ImGuiWidget* plotsWidget_ = nullptr;
  TrainingPlotsView* plots_ = nullptr;
  std::shared_ptr<TrainingSeries> series_ = std::make_shared<TrainingSeries>();
  std::unique_ptr<jobs::TrainingJob> job_;
  std::optional<train::TrainerConfig> lastRun_;  // what the last start used: a resume must match it
  DatasetCheck check_;
  bool checked_ = false;
  double warmupShare_ = 0;
  QString lastError_;
  std::string ranOn_;  // where the current local run's steps ran, as the trainer reports it
  std::vector<bb::remote::SavedRunner> runners_;
  int remoteTask_ = 0;                        // the task manager task that drives a remote run
  std::optional<jobs::JobState> remoteState_;  // how the last remote run ended
  QString remoteModelDir_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // task results arriving after destruction are dropped
};

}  // namespace bb::ui
