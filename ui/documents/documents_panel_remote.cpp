// Summaries on a remote runner: the document's extracted text and the model folder go up (each
// only once per content), the runner's `summarize` job runs, its progress events drive the same
// progress bar and status line as a local run, Cancel cancels the job on the runner, and the
// summary comes back as a history entry like a local one. The network work is a task manager task
// (submitWaiting: its own thread, so local work goes on), listed and cancelled like a local one.
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/remote/remote_job.h"
#include "ui/documents/documents_panel.h"
#include "ui/task_manager.h"

namespace bb::ui::documents {

namespace {

const QString kSummaryGroup = QStringLiteral("documents.summarize");

bb::remote::ClientOptions optionsFor(const bb::remote::SavedRunner& r) {
  bb::remote::ClientOptions o;
  o.url = r.url;
  o.token = r.token;
  o.ca_cert = r.ca_cert;
  return o;
}

// A runner's progress event as the fraction and the line the panel shows for local runs.
void reportRemoteProgress(TaskContext& ctx, const QString& runner, const nlohmann::json& e) {
  const std::string stage = e.value("stage", "");
  const double done = e.value("done", 0.0), total = e.value("total", 0.0);
  if (stage == "encode")
    ctx.setProgress(0.2 * done / std::max(1.0, total), QStringLiteral("%1: encoding the document, %2%").arg(runner).arg(done));
  else if (stage == "decode")
    ctx.setProgress(0.2 + 0.8 * done / std::max(1.0, total),
                    QStringLiteral("%1: generating, %2 of at most %3 tokens").arg(runner).arg(done).arg(total));
}

bb::gen::SummaryResult resultFromReport(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("summary") || !j["summary"].is_string())
    throw Error(path + ": the runner's summary.json has no summary");
  bb::gen::SummaryResult r;
  r.summary = j["summary"];
  r.notice = j.value("notice", "");
  r.document_tokens = j.value("document_tokens", int64_t(0));
  r.truncated = j.value("truncated", false);
  r.cancelled = j.value("cancelled", false);
  const nlohmann::json t = j.value("timings", nlohmann::json::object());
  r.tokenize_s = t.value("tokenize_s", 0.0);
  r.encode_s = t.value("encode_s", 0.0);
  r.decode_s = t.value("decode_s", 0.0);
  r.generated_tokens = t.value("generated_tokens", int64_t(0));
  // What the report has of each chunk; no input ids or cross-attention, so no source passages.
  for (const nlohmann::json& jc : j.value("chunks", nlohmann::json::array())) {
    bb::gen::ChunkSummary ch;
    ch.text = jc.value("text", "");
    ch.summary_ids = jc.value("summary_ids", std::vector<int64_t>{});
    ch.ends_with_eos = jc.value("ends_with_eos", false);
    ch.score = jc.value("score", 0.0);
    ch.decoder_steps = jc.value("decoder_steps", int64_t(0));
    ch.encode_s = jc.value("encode_s", 0.0);
    ch.decode_s = jc.value("decode_s", 0.0);
    ch.encoder_backend = jc.value("encoder_backend", "");
    ch.decoder_backend = jc.value("decoder_backend", "");
    r.chunks.push_back(std::move(ch));
  }
  return r;
}

}  // namespace

void DocumentsPanel::setRunners(const std::vector<bb::remote::SavedRunner>& runners) {
  const QString previous = runOn_->currentText();
  runners_ = runners;
  const QSignalBlocker block(runOn_);
  runOn_->clear();
  runOn_->addItem(QStringLiteral("Run here"));
  for (const bb::remote::SavedRunner& r : runners_) runOn_->addItem(QStringLiteral("Remote: ") + QString::fromStdString(r.name));
  runOn_->setCurrentIndex(std::max(0, runOn_->findText(previous)));
}

int DocumentsPanel::submitRemoteSummary(const bb::remote::SavedRunner& runner, const bb::gen::SummarizeOptions& opt,
                                        const SummarySettings& s) {
  auto model = model_;
  auto doc = document_;
  const QString name = QString::fromStdString(runner.name);
  nlohmann::json params = {{"beams", s.beams},
                           {"max-length", s.maxLength},
                           {"min-length", s.minLength},
                           {"length-penalty", opt.generation.length_penalty},
                           {"long", bb::gen::to_string(opt.long_document)},
                           {"random-blocks", bb::attn::to_string(opt.random_blocks)}};
  return tasks_->submitWaiting(
      kSummaryGroup, QStringLiteral("Summarizing %1 on %2").arg(doc->label, name),
      [this, runner, name, model, doc, params, s](TaskContext& ctx) {
        const auto t0 = std::chrono::steady_clock::now();
        const bb::remote::ClientOptions options = optionsFor(runner);
        bb::remote::Client client(options);
        QTemporaryDir tmp;
        if (!tmp.isValid()) throw Error("cannot create a temporary folder for the runner's files");
        const std::string docPath = QDir(tmp.path()).filePath(QStringLiteral("document.txt")).toStdString();
        bb::io::write_file_atomic(docPath, doc->text);
        const bb::remote::UploadProgress uploading = [&](const std::string& file, uint64_t done, uint64_t total) {
          ctx.checkCancelled();
          ctx.setProgress(0, QStringLiteral("%1: uploading %2, %3 of %4 MB")
                                 .arg(name, QString::fromStdString(file))
                                 .arg(double(done) / 1e6, 0, 'f', 1)
                                 .arg(double(total) / 1e6, 0, 'f', 1));
        };
        ctx.setProgress(0, name + QStringLiteral(": uploading the document"));
        const std::string docRef = bb::remote::upload_by_content(client, docPath, uploading);
        ctx.checkCancelled();
        ctx.setProgress(0, name + QStringLiteral(": uploading the model (once per model)"));
        const std::string modelRef =
            bb::remote::upload_model_dir(client, model->dir.toStdString(), model->tokenizerPath.toStdString(), uploading);
        ctx.checkCancelled();
        ctx.setProgress(0, name + QStringLiteral(": waiting for the runner"));
        const nlohmann::json spec = {{"kind", "summarize"}, {"model", modelRef}, {"inputs", {{"document", docRef}}}, {"params", params}};
        const nlohmann::json job = bb::remote::run_job(
            options, spec, [&](const nlohmann::json& e) { if (e.value("type", "") == "progress") reportRemoteProgress(ctx, name, e); },
            [&] { return ctx.cancelled(); });
        ctx.checkCancelled();
        const std::string id = job["id"];
        if (job["state"] != "succeeded")
          throw Error(runner.name + ": job " + id + " " + job["state"].get<std::string>() + ": " + job.value("error", std::string()));
        const std::string report = QDir(tmp.path()).filePath(QStringLiteral("summary.json")).toStdString();
        client.fetch(id, "summary.json", report);
        auto record = std::make_shared<SummaryRecord>();
        record->document = doc;
        record->result = resultFromReport(report);
        record->modelDir = model->dir + QStringLiteral(" (on %1, job %2)").arg(name, QString::fromStdString(id));
        record->beams = s.beams;
        record->maxLength = s.maxLength;
        record->finishedAt = QDateTime::currentDateTime();
        record->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::shared_ptr<const SummaryRecord> done = record;
        return TaskManager::Finish([this, done] { addFinishedSummary(done); });
      });
}

}  // namespace bb::ui::documents
