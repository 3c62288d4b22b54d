#include "ui/models/model_manager.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "engine/core/error.h"
#include "engine/io/hub_client.h"
#include "ui/finetune/training_estimate.h"
#include "ui/text_utils.h"
#include "ui/models/model_details.h"
#include "ui/models/model_import.h"
#include "ui/task_manager.h"

namespace bb::ui {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }
const QString kDownloadGroup = QStringLiteral("models-download");

}  // namespace

ModelManager::ModelManager(TaskManager* tasks, ModelRoots roots, QWidget* parent)
    : QWidget(parent), tasks_(tasks), roots_(std::move(roots)) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(4, 4, 4, 4);
  auto* bar = new QHBoxLayout;
  auto* refreshButton = new QPushButton(QStringLiteral("Refresh"));
  auto* importDir = new QPushButton(QStringLiteral("Import folder…"));
  auto* importFile = new QPushButton(QStringLiteral("Import file…"));
  importFile->setToolTip(QStringLiteral("A safetensors, PyTorch (.bin/.pt) or TensorFlow (.index) checkpoint with config.json beside it"));
  use_ = new QPushButton(QStringLiteral("Use this model"));
  use_->setToolTip(QStringLiteral("Make it the current model of every view"));
  delete_ = new QPushButton(QStringLiteral("Delete…"));
  for (QPushButton* b : {refreshButton, importDir, importFile, use_, delete_}) bar->addWidget(b);
  bar->addStretch(1);
  v->addLayout(bar);

  auto* dl = new QHBoxLayout;
  repo_ = new QLineEdit;
  repo_->setPlaceholderText(QStringLiteral("org/name[@revision] on the hub ($HF_ENDPOINT or huggingface.co)"));
  download_ = new QPushButton(QStringLiteral("Download"));
  cancel_ = new QPushButton(QStringLiteral("Cancel"));
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(200);
  progressLabel_ = new QLabel;
  dl->addWidget(repo_, 1);
  dl->addWidget(download_);
  dl->addWidget(cancel_);
  dl->addWidget(progress_);
  dl->addWidget(progressLabel_, 1);
  v->addLayout(dl);

  errorLabel_ = new QLabel;
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet(QStringLiteral("color: #e06060"));
  errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  errorLabel_->hide();
  v->addWidget(errorLabel_);

  auto* split = new QSplitter(Qt::Horizontal);
  list_ = new QTreeWidget;
  list_->setHeaderLabels({QStringLiteral("model"), QStringLiteral("revision"), QStringLiteral("source"), QStringLiteral("size")});
  list_->setRootIsDecorated(false);
  list_->setSelectionMode(QAbstractItemView::SingleSelection);
  details_ = new QPlainTextEdit;
  details_->setReadOnly(true);
  details_->setPlaceholderText(QStringLiteral("Select a model to see its details."));
  split->addWidget(list_);
  split->addWidget(details_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  v->addWidget(split, 1);

  connect(refreshButton, &QPushButton::clicked, this, &ModelManager::refresh);
  connect(importDir, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getExistingDirectory(this, QStringLiteral("Import a model directory"));
    if (!p.isEmpty()) importFrom(p);
  });
  connect(importFile, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, QStringLiteral("Import a checkpoint file"), QString(),
                                                   QStringLiteral("Checkpoints (*.safetensors *.bin *.pt *.pth *.index *.json);;All files (*)"));
    if (!p.isEmpty()) importFrom(p);
  });
  connect(use_, &QPushButton::clicked, this, &ModelManager::useSelected);
  connect(delete_, &QPushButton::clicked, this, &ModelManager::deleteSelected);
  connect(download_, &QPushButton::clicked, this, [this] { download(repo_->text().trimmed()); });
  connect(repo_, &QLineEdit::returnPressed, this, [this] { download(repo_->text().trimmed()); });
  connect(cancel_, &QPushButton::clicked, this, &ModelManager::cancelDownload);
  connect(list_, &QTreeWidget::itemSelectionChanged, this, [this] {
    if (const ModelEntry* m = selected()) loadDetails(*m);
    updateButtons();
  });
  connect(list_, &QTreeWidget::itemDoubleClicked, this, &ModelManager::useSelected);
  connect(tasks_, &TaskManager::taskProgress, this, [this](int id, double fraction, const QString& detail) {
    if (id != downloadTask_) return;
    downloadProgress_ = fraction;
    progress_->setValue(int(fraction * 1000));
    progressLabel_->setText(detail);
  });
  refresh();
}

ModelManager::~ModelManager() {
  *alive_ = false;
  if (tasks_) {
    tasks_->cancelGroup(kDownloadGroup);
    tasks_->cancelGroup(QStringLiteral("models-details"));
  }
}

void ModelManager::refresh() {
  const QString current = selected() ? qs(selected()->path) : QString();
  entries_ = scanModels(roots_);
  list_->clear();
  for (const ModelEntry& m : entries_) {
    auto* item = new QTreeWidgetItem({qs(m.name), qs(m.revision), QString::fromLatin1(to_string(m.source)),
                                      qs(formatBytes(double(m.bytes)))});
    item->setToolTip(0, qs(m.path));
    if (!m.hasConfig) item->setToolTip(0, qs(m.path) + QStringLiteral(" (no config.json)"));
    list_->addTopLevelItem(item);
  }
  for (int i = 0; i < list_->columnCount(); ++i) list_->resizeColumnToContents(i);
  const int again = indexOfPath(current);
  if (again >= 0) list_->setCurrentItem(list_->topLevelItem(again));
  updateButtons();
}

int ModelManager::indexOfPath(const QString& path) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (qs(entries_[i].path) == path) return int(i);
  return -1;
}

void ModelManager::select(int index) {
  if (index < 0 || index >= list_->topLevelItemCount()) return;
  list_->setCurrentItem(list_->topLevelItem(index));
}

const ModelEntry* ModelManager::selected() const {
  QTreeWidgetItem* item = list_->currentItem();
  if (!item) return nullptr;
  const int i = list_->indexOfTopLevelItem(item);
  return i >= 0 && size_t(i) < entries_.size() ? &entries_[size_t(i)] : nullptr;
}

QString ModelManager::detailsText() const { return details_->toPlainText(); }

void ModelManager::showError(const QString& text) {
  error_ = text;
  errorLabel_->setText(text);
  errorLabel_->setVisible(!text.isEmpty());
  if (!text.isEmpty()) emit failed(text);
}

void ModelManager::updateButtons() {
  const ModelEntry* m = selected();
  use_->setEnabled(m && m->hasConfig);
  delete_->setEnabled(m && m->source != ModelSource::Bundled);
  delete_->setToolTip(m && m->source == ModelSource::Bundled ? QStringLiteral("The bundled model is part of the app")
                                                             : QStringLiteral("Delete the model's files (asks first)"));
  const bool busy = downloading();
  download_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  progress_->setVisible(busy || downloadProgress_ > 0);
}

void ModelManager::loadDetails(const ModelEntry& m) {
  details_->setPlainText(QStringLiteral("Reading %1…").arg(qs(m.path)));
  const std::string path = m.path;
  tasks_->submit(QStringLiteral("models-details"), QStringLiteral("Reading model details"),
                 [this, path, alive = alive_](TaskContext&) -> TaskManager::Finish {
                   std::string text;
                   bool ok = true;
                   try {
                     text = inspectModel(path).text();
                   } catch (const std::exception& e) {
                     ok = false;
                     text = e.what();
                   }
                   return [this, text, ok, alive] {
                     if (!*alive) return;
                     details_->setPlainText(qs(text));
                     emit detailsReady(ok);
                   };
                 });
}

void ModelManager::importFrom(const QString& path) {
  showError({});
  const std::string source = path.toStdString(), dir = roots_.studioModels;
  tasks_->submit(QStringLiteral("models-import"), QStringLiteral("Importing %1").arg(path),
                 [this, source, dir, alive = alive_](TaskContext& ctx) -> TaskManager::Finish {
                   ctx.setProgress(0.1, QStringLiteral("loading and checking the weights"));
                   std::string result, error;
                   try {
                     result = importModel(source, dir);
                   } catch (const std::exception& e) {
                     error = e.what();
                   }
                   return [this, result, error, alive] {
                     if (!*alive) return;
                     if (!error.empty()) return showError(qs(error));
                     refresh();
                     select(indexOfPath(qs(result)));
                     emit imported(qs(result));
                   };
                 });
}

void ModelManager::download(const QString& repoRef, const QString& endpoint) {
  showError({});
  const std::optional<io::RepoRef> ref = io::parse_repo_ref(repoRef.toStdString());
  if (!ref) {
    showError(QStringLiteral("\"%1\": not a hub model id (org/name or org/name@revision)").arg(repoRef));
    return;
  }
  io::HubOptions o;
  o.endpoint = endpoint.toStdString();
  o.cache_dir = roots_.hfCache;
  downloadProgress_ = 0;
  progress_->setValue(0);
  progressLabel_->setText(QStringLiteral("connecting…"));
  downloadTask_ = tasks_->submit(
      kDownloadGroup, QStringLiteral("Downloading %1").arg(repoRef),
      [this, ref = *ref, o, alive = alive_](TaskContext& ctx) mutable -> TaskManager::Finish {
        o.progress = [&ctx](const io::DownloadProgress& p) {
          // Cancelling unwinds out of the transfer; the partial blob stays and a later download resumes it.
          ctx.checkCancelled();
          const double f = p.total > 0 ? double(p.done) / double(p.total) : (p.finished ? 1.0 : 0.0);
          ctx.setProgress(f, QStringLiteral("%1: %2 / %3")
                                 .arg(qs(p.file), qs(formatBytes(double(p.done))), qs(formatBytes(double(p.total)))));
        };
        std::string snapshot, error;
        try {
          snapshot = io::hub_pull(ref, o).snapshot_dir;
        } catch (const std::exception& e) {
          if (ctx.cancelled()) throw TaskCancelled{};
          error = e.what();
        }
        return [this, snapshot, error, alive] {
          if (!*alive) return;
          downloadTask_ = 0;
          if (!error.empty()) {
            showError(qs(error));
            progressLabel_->setText(QStringLiteral("failed"));
            updateButtons();
            emit downloadFinished(false, qs(error));
            return;
          }
          progress_->setValue(1000);
          downloadProgress_ = 1.0;
          progressLabel_->setText(QStringLiteral("done: %1").arg(qs(snapshot)));
          refresh();
          select(indexOfPath(qs(snapshot)));
          emit downloadFinished(true, qs(snapshot));
        };
      });
  // A cancelled task never runs its finish step: reset the controls when it ends that way.
  const int id = downloadTask_;
  auto* guard = new QObject(this);
  connect(tasks_, &TaskManager::taskFinished, guard, [this, id, guard](int finished, const QString&, bool ok, const QString& error) {
    if (finished != id) return;
    guard->deleteLater();
    if (ok || downloadTask_ != id) return;  // success, or already reported by the finish step / cancelDownload
    downloadTask_ = 0;
    progressLabel_->setText(error == QStringLiteral("cancelled") ? QStringLiteral("cancelled (a later download resumes)") : error);
    updateButtons();
    emit downloadFinished(false, error);
  });
  updateButtons();
}

void ModelManager::cancelDownload() {
  const int id = downloadTask_;
  if (!id) return;
  tasks_->cancel(id);
  if (tasks_->status().id == id) return;  // running: it stops at its next progress report
  // It was still queued (removed without a finish) or has just ended: report it here.
  downloadTask_ = 0;
  progressLabel_->setText(QStringLiteral("cancelled"));
  updateButtons();
  emit downloadFinished(false, QStringLiteral("cancelled"));
}

bool ModelManager::downloading() const { return downloadTask_ != 0; }

bool ModelManager::deleteSelected() {
  const ModelEntry* m = selected();
  if (!m) return false;
  if (m->source == ModelSource::Bundled) {
    showError(QStringLiteral("The bundled model is part of the app and cannot be deleted."));
    return false;
  }
  const QString question = QStringLiteral("Delete %1%2 (%3, %4)?\n\n%5")
                               .arg(qs(m->name), m->revision.empty() ? QString() : QLatin1Char('@') + qs(m->revision),
                                    QString::fromLatin1(to_string(m->source)), qs(formatBytes(double(m->bytes))), qs(m->path));
  const bool yes = confirm_ ? confirm_(question)
                            : QMessageBox::question(this, QStringLiteral("Delete model"), question,
                                                    QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
  if (!yes) return false;
  try {
    deleteModel(*m, roots_);
  } catch (const Error& e) {
    showError(qs(e.what()));
    refresh();
    return false;
  }
  details_->clear();
  refresh();
  return true;
}

void ModelManager::useSelected() {
  const ModelEntry* m = selected();
  if (!m || !m->hasConfig) return;
  emit currentModelChanged(qs(m->path));
}

}  // namespace bb::ui
