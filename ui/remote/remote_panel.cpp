#include "ui/remote/remote_panel.h"

#include <QApplication>
#include <QDateTime>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/core/error.h"
#include "engine/remote/client.h"
#include "engine/remote/token_file.h"

namespace bb::ui::remote {

namespace {

bb::remote::ClientOptions client_options(const QLineEdit* url, const QLineEdit* token, const QLineEdit* ca) {
  bb::remote::ClientOptions o;
  o.url = url->text().trimmed().toStdString();
  o.token = token->text().trimmed().toStdString();
  o.ca_cert = ca->text().trimmed().toStdString();
  o.timeout_s = 10;
  return o;
}

QString when(double unix_s) {
  return unix_s > 0 ? QDateTime::fromSecsSinceEpoch(qint64(unix_s)).toString(QStringLiteral("yyyy-MM-dd hh:mm:ss")) : QString();
}

}  // namespace

RemotePanel::RemotePanel(const QString& runnersFile, QWidget* parent)
    : QWidget(parent),
      runnersFile_(runnersFile.isEmpty() ? QString::fromStdString(bb::remote::runners_file()) : runnersFile) {
  name_ = new QLineEdit(QStringLiteral("remote"));
  url_ = new QLineEdit;
  url_->setPlaceholderText(QStringLiteral("http://127.0.0.1:8750 (an SSH tunnel to the runner)"));
  token_ = new QLineEdit;
  token_->setEchoMode(QLineEdit::Password);
  token_->setPlaceholderText(QStringLiteral("the runner's token file content"));
  caCert_ = new QLineEdit;
  caCert_->setPlaceholderText(QStringLiteral("optional: PEM certificate of a self-signed HTTPS runner"));
  auto* form = new QFormLayout;
  form->addRow(QStringLiteral("Name"), name_);
  form->addRow(QStringLiteral("Runner URL"), url_);
  form->addRow(QStringLiteral("Token"), token_);
  form->addRow(QStringLiteral("CA certificate"), caCert_);

  auto* saveButton = new QPushButton(QStringLiteral("Save"));
  auto* testButton = new QPushButton(QStringLiteral("Test connection"));
  auto* refreshButton = new QPushButton(QStringLiteral("Refresh jobs"));
  auto* cancelButton = new QPushButton(QStringLiteral("Cancel job"));
  auto* fetchButton = new QPushButton(QStringLiteral("Download artifacts…"));
  auto* buttons = new QHBoxLayout;
  for (QPushButton* b : {saveButton, testButton, refreshButton, cancelButton, fetchButton}) buttons->addWidget(b);
  buttons->addStretch();

  status_ = new QLabel(QStringLiteral("Not connected. Start a runner with `bigbird serve` (docs/remote-tpu.md)."));
  status_->setWordWrap(true);
  jobs_ = new QTableWidget(0, 5);
  jobs_->setHorizontalHeaderLabels({QStringLiteral("Job"), QStringLiteral("Kind"), QStringLiteral("State"),
                                    QStringLiteral("Created"), QStringLiteral("Error")});
  jobs_->horizontalHeader()->setStretchLastSection(true);
  jobs_->setSelectionBehavior(QAbstractItemView::SelectRows);
  jobs_->setSelectionMode(QAbstractItemView::SingleSelection);
  jobs_->setEditTriggers(QAbstractItemView::NoEditTriggers);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(buttons);
  layout->addWidget(status_);
  layout->addWidget(jobs_, 1);

  connect(saveButton, &QPushButton::clicked, this, &RemotePanel::save);
  connect(testButton, &QPushButton::clicked, this, &RemotePanel::testConnection);
  connect(refreshButton, &QPushButton::clicked, this, &RemotePanel::refreshJobs);
  connect(cancelButton, &QPushButton::clicked, this, &RemotePanel::cancelSelected);
  connect(fetchButton, &QPushButton::clicked, this, [this] { fetchSelected(); });
  load();
}

void RemotePanel::load() {
  try {
    const auto runners = bb::remote::load_runners(runnersFile_.toStdString());
    if (runners.empty()) return;
    const bb::remote::SavedRunner& r = runners.front();
    name_->setText(QString::fromStdString(r.name));
    url_->setText(QString::fromStdString(r.url));
    token_->setText(QString::fromStdString(r.token));
    caCert_->setText(QString::fromStdString(r.ca_cert));
  } catch (const bb::Error& e) {
    status_->setText(QString::fromStdString(e.what()));
  }
}

bool RemotePanel::save() {
  const std::string name = name_->text().trimmed().toStdString();
  if (name.empty() || url_->text().trimmed().isEmpty() || token_->text().trimmed().isEmpty()) {
    status_->setText(QStringLiteral("Give a name, the runner URL and its token."));
    return false;
  }
  try {
    bb::remote::Client check(client_options(url_, token_, caCert_));  // validates the URL
    std::vector<bb::remote::SavedRunner> all = bb::remote::load_runners(runnersFile_.toStdString());
    std::erase_if(all, [&](const bb::remote::SavedRunner& r) { return r.name == name; });
    all.insert(all.begin(), {name, check.options().url, check.options().token, check.options().ca_cert});
    bb::remote::save_runners(all, runnersFile_.toStdString());
    status_->setText(QStringLiteral("Saved in %1 (readable by you only).").arg(runnersFile_));
    emit runnersSaved();
    return true;
  } catch (const bb::Error& e) {
    status_->setText(QString::fromStdString(e.what()));
    return false;
  }
}

void RemotePanel::inBackground(std::function<std::function<void()>()> work) {
  QPointer<RemotePanel> self(this);
  std::thread([self, work = std::move(work)] {
    std::function<void()> finish = work();
    QMetaObject::invokeMethod(qApp, [self, finish] {
      if (self) finish();
    }, Qt::QueuedConnection);
  }).detach();
}

void RemotePanel::testConnection() {
  status_->setText(QStringLiteral("Connecting…"));
  const bb::remote::ClientOptions o = client_options(url_, token_, caCert_);
  inBackground([this, o]() -> std::function<void()> {
    QString message;
    bool ok = false;
    try {
      bb::remote::Client c(o);
      const nlohmann::json h = c.health();
      ok = true;
      message = QStringLiteral("Connected: bigbird %1, protocol %2, backend %3, %4 models, %5/%6 jobs running")
                    .arg(QString::fromStdString(h.value("version", "?")))
                    .arg(h["protocol"].get<int>())
                    .arg(QString::fromStdString(h.value("backend", "?")))
                    .arg(h["models"].size())
                    .arg(h["jobs"].value("running", 0))
                    .arg(h["jobs"].value("max_concurrent", 0));
    } catch (const std::exception& e) {
      message = QString::fromStdString(e.what());
    }
    return [this, ok, message] {
      status_->setText(message);
      emit connectionTested(ok, message);
    };
  });
}

void RemotePanel::refreshJobs() {
  const bb::remote::ClientOptions o = client_options(url_, token_, caCert_);
  inBackground([this, o]() -> std::function<void()> {
    try {
      bb::remote::Client c(o);
      const nlohmann::json jobs = c.jobs();
      return [this, jobs] {
        jobs_->setRowCount(int(jobs.size()));
        int row = 0;
        for (const nlohmann::json& j : jobs) {
          const QStringList cells = {QString::fromStdString(j["id"].get<std::string>()),
                                     QString::fromStdString(j["spec"]["kind"].get<std::string>()),
                                     QString::fromStdString(j["state"].get<std::string>()), when(j["created"].get<double>()),
                                     QString::fromStdString(j["error"].get<std::string>())};
          for (int col = 0; col < cells.size(); ++col) jobs_->setItem(row, col, new QTableWidgetItem(cells[col]));
          ++row;
        }
        status_->setText(QStringLiteral("%1 jobs on the runner.").arg(jobs.size()));
        emit jobsRefreshed(true, int(jobs.size()));
      };
    } catch (const std::exception& e) {
      const QString message = QString::fromStdString(e.what());
      return [this, message] {
        status_->setText(message);
        emit jobsRefreshed(false, 0);
      };
    }
  });
}

QString RemotePanel::selectedJob() const {
  const auto rows = jobs_->selectionModel() ? jobs_->selectionModel()->selectedRows() : QModelIndexList{};
  if (rows.isEmpty() || !jobs_->item(rows.front().row(), 0)) return {};
  return jobs_->item(rows.front().row(), 0)->text();
}

void RemotePanel::cancelSelected() {
  const QString id = selectedJob();
  if (id.isEmpty()) {
    status_->setText(QStringLiteral("Select a job first."));
    return;
  }
  const bb::remote::ClientOptions o = client_options(url_, token_, caCert_);
  inBackground([this, o, id]() -> std::function<void()> {
    QString message;
    try {
      bb::remote::Client c(o);
      message = QStringLiteral("Job %1: %2").arg(id, QString::fromStdString(c.cancel(id.toStdString())["state"].get<std::string>()));
    } catch (const std::exception& e) {
      message = QString::fromStdString(e.what());
    }
    return [this, message] {
      status_->setText(message);
      refreshJobs();
    };
  });
}

void RemotePanel::fetchSelected(const QString& directory) {
  const QString id = selectedJob();
  if (id.isEmpty()) {
    status_->setText(QStringLiteral("Select a job first."));
    return;
  }
  const QString dir = directory.isEmpty() ? QFileDialog::getExistingDirectory(this, QStringLiteral("Download artifacts to")) : directory;
  if (dir.isEmpty()) return;
  status_->setText(QStringLiteral("Downloading the artifacts of %1…").arg(id));
  const bb::remote::ClientOptions o = client_options(url_, token_, caCert_);
  inBackground([this, o, id, dir]() -> std::function<void()> {
    bool ok = false;
    QString message;
    try {
      bb::remote::Client c(o);
      int n = 0;
      for (const nlohmann::json& a : c.artifacts(id.toStdString())) {
        const std::string path = a["path"];
        c.fetch(id.toStdString(), path, dir.toStdString() + "/" + id.toStdString() + "/" + path);
        ++n;
      }
      ok = true;
      message = QStringLiteral("Downloaded %1 files to %2/%3").arg(n).arg(dir, id);
    } catch (const std::exception& e) {
      message = QString::fromStdString(e.what());
    }
    return [this, ok, message] {
      status_->setText(message);
      emit artifactsFetched(ok, message);
    };
  });
}

}  // namespace bb::ui::remote
