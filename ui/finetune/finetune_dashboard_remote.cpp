// Fine-tuning on a remote runner: the model folder and the data go up (each only once per
// content), the runner's `finetune` job runs, its metric events become the same TrainingEvents a
// local run emits (so the plots, the progress bar and the status line work unchanged), Cancel
// cancels the job on the runner, and the fine-tuned model comes back into Studio's models folder,
// where the model manager lists it. The network work is a task manager task (submitWaiting: its own
// thread, so local work goes on while the runner trains), listed and cancelled like local work.
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QStandardItemModel>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/remote/remote_job.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/imgui_widget.h"
#include "ui/models/model_catalog.h"
#include "ui/task_manager.h"

namespace bb::ui {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

nlohmann::json finetuneParams(const train::TrainerConfig& c, const QString& format) {
  nlohmann::json p = {{"task", train::to_string(c.task)},
                      {"format", format.toStdString()},
                      {"text-column", c.text_column},
                      {"label-column", c.label_column},
                      {"max-length", c.max_length},
                      {"batch-size", c.batch_size},
                      {"grad-accum", c.grad_accum},
                      {"lr", c.schedule.lr},
                      {"schedule", train::to_string(c.schedule.kind)},
                      {"warmup", c.schedule.warmup_steps},
                      {"optimizer", train::to_string(c.optimizer.kind)},
                      {"weight-decay", c.optimizer.weight_decay},
                      {"max-grad-norm", c.max_grad_norm},
                      {"eval-every", c.eval_every},
                      {"save-every", c.save_every},
                      {"seed", c.seed}};
  if (c.max_steps > 0)
    p["steps"] = c.max_steps;
  else
    p["epochs"] = c.epochs;
  if (c.attention_type) p["attention-type"] = attn::to_string(*c.attention_type);
  if (c.gradient_checkpointing) p["gradient-checkpointing"] = true;
  return p;
}

// A runner's metric event as the trainer's own event (Step, or Eval with its metrics).
std::optional<train::TrainingEvent> trainingEvent(const nlohmann::json& e) {
  if (e.value("type", "") != "metric") return std::nullopt;
  train::TrainingEvent t;
  t.step = e.value("step", int64_t(0));
  t.total_steps = e.value("total", int64_t(0));
  if (e.value("eval", false)) {
    t.kind = train::TrainingEvent::Kind::Eval;
    for (const auto& [k, v] : e.items())
      if (v.is_number() && k != "step" && k != "total" && k != "seq" && k != "time") t.metrics[k] = v.get<double>();
  } else {
    t.kind = train::TrainingEvent::Kind::Step;
    t.loss = e.value("loss", 0.0);
    t.lr = e.value("lr", 0.0);
  }
  return t;
}

}  // namespace

void FinetuneDashboard::setRunners(const std::vector<bb::remote::SavedRunner>& runners) {
  runners_ = runners;
  const int previous = backend_->currentIndex();
  while (backend_->count() > 2) backend_->removeItem(2);
  if (runners_.empty()) {
    backend_->addItem(QStringLiteral("Remote"), QStringLiteral("remote"));
    auto* model = qobject_cast<QStandardItemModel*>(backend_->model());
    QStandardItem* item = model->item(backend_->count() - 1);
    item->setEnabled(false);
    item->setToolTip(QStringLiteral("Save a runner in the Remote dock (Ctrl+Alt+R) to fine-tune on it"));
  }
  for (const bb::remote::SavedRunner& r : runners_)
    backend_->addItem(QStringLiteral("Remote: ") + qs(r.name), QStringLiteral("remote"));
  backend_->setCurrentIndex(previous >= 0 && previous < backend_->count() && !runners_.empty() ? previous : 0);
}

bool FinetuneDashboard::launchRemote(const train::TrainerConfig& c, const bb::remote::SavedRunner& runner) {
  remoteState_.reset();
  remoteModelDir_.clear();
  lastError_.clear();
  showError({});
  series_->clear();
  const QString name = qs(runner.name);
  const QString format = format_->currentText();
  const std::string modelsDir = studioModelsDir();
  const std::string runName = QFileInfo(qs(c.out_dir)).fileName().toStdString();
  log_->appendPlainText(QStringLiteral("Starting %1 on the runner %2").arg(qs(c.train_file), name));
  statusLabel_->setText(QStringLiteral("Uploading the model and the data to %1…").arg(name));
  remoteTask_ = tasks_->submitWaiting(
      QStringLiteral("finetune-remote"), QStringLiteral("Fine-tuning on %1").arg(name),
      [this, c, runner, name, format, modelsDir, runName, alive = alive_](TaskContext& ctx) -> TaskManager::Finish {
        bb::remote::ClientOptions options;
        options.url = runner.url;
        options.token = runner.token;
        options.ca_cert = runner.ca_cert;
        bb::remote::Client client(options);
        const bb::remote::UploadProgress uploading = [&](const std::string& file, uint64_t done, uint64_t total) {
          ctx.checkCancelled();
          ctx.setProgress(0, QStringLiteral("%1: uploading %2, %3 of %4 MB")
                                 .arg(name, qs(file))
                                 .arg(double(done) / 1e6, 0, 'f', 1)
                                 .arg(double(total) / 1e6, 0, 'f', 1));
        };
        ctx.setProgress(0, name + QStringLiteral(": uploading the model (once per model)"));
        const std::string model = bb::remote::upload_model_dir(client, c.model_dir, "", uploading);
        ctx.checkCancelled();
        ctx.setProgress(0, name + QStringLiteral(": uploading the data"));
        nlohmann::json inputs = {{"train", bb::remote::upload_by_content(client, c.train_file, uploading)}};
        if (!c.eval_file.empty()) inputs["eval"] = bb::remote::upload_by_content(client, c.eval_file, uploading);
        ctx.checkCancelled();
        const nlohmann::json spec = {{"kind", "finetune"}, {"model", model}, {"inputs", inputs}, {"params", finetuneParams(c, format)}};
        auto toUi = [this, alive](std::function<void()> f) {
          QMetaObject::invokeMethod(qApp, [alive, f] { if (*alive) f(); }, Qt::QueuedConnection);
        };
        const nlohmann::json job = bb::remote::run_job(
            options, spec,
            [&](const nlohmann::json& e) {
              const std::string type = e.value("type", "");
              if (const auto t = trainingEvent(e)) {
                if (t->total_steps > 0)
                  ctx.setProgress(double(t->step) / double(t->total_steps),
                                  QStringLiteral("%1: step %2 of %3").arg(name).arg(t->step).arg(t->total_steps));
                toUi([this, ev = *t] {
                  handle(ev);
                  if (plotsWidget_) plotsWidget_->requestFrames(2);
                });
              } else if (type == "state" || type == "log") {
                const QString line = name + QStringLiteral(": ") +
                                     qs(type == "state" ? "job " + e.value("state", std::string()) : e.value("line", std::string()));
                toUi([this, line] { log_->appendPlainText(line); });
              }
            },
            [&] { return ctx.cancelled(); });
        ctx.checkCancelled();
        const std::string id = job["id"];
        if (job["state"] != "succeeded")
          throw Error(runner.name + ": job " + id + " " + job["state"].get<std::string>() + ": " + job.value("error", std::string()));
        ctx.setProgress(1, name + QStringLiteral(": downloading the fine-tuned model"));
        const std::string dst = modelsDir + "/" + runName + "-" + runner.name + "-" + id;
        if (bb::remote::fetch_artifacts(client, id, "finetune/model/", dst).empty())
          throw Error(runner.name + ": job " + id + " finished without a fine-tuned model (finetune/model/)");
        return [this, alive, dst = qs(dst)] {
          if (!*alive) return;
          remoteModelDir_ = dst;
          log_->appendPlainText(QStringLiteral("fine-tuned model downloaded to %1").arg(dst));
          emit modelExported(dst);
        };
      });
  updateButtons();
  return true;
}

void FinetuneDashboard::remoteTaskFinished(bool ok, const QString& error) {
  remoteTask_ = 0;
  remoteState_ = ok ? jobs::JobState::Finished : error == QStringLiteral("cancelled") ? jobs::JobState::Cancelled : jobs::JobState::Failed;
  if (*remoteState_ == jobs::JobState::Failed) showError(error);
  statusLabel_->setText(ok ? QStringLiteral("Finished on the runner; the model is in %1").arg(remoteModelDir_)
                           : *remoteState_ == jobs::JobState::Cancelled ? QStringLiteral("Cancelled (the runner's job too)")
                                                                         : QStringLiteral("Failed"));
  log_->appendPlainText(statusLabel_->text());
  updateButtons();
  emit jobFinished(int(*remoteState_));
}

}  // namespace bb::ui
