// The summarization half of the Documents panel: the model, the run with streaming progress and
// cancellation, the result beside the source with cross-attention highlighting, the history and
// the exports.
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <atomic>
#include <chrono>
#include <mutex>

#include "engine/core/error.h"
#include "engine/generate/generation_config.h"
#include "engine/models/config.h"
#include "ui/compute_backend.h"
#include "ui/documents/documents_panel.h"
#include "ui/task_manager.h"

namespace bb::ui::documents {

namespace {

const QString kModelGroup = QStringLiteral("documents.model");
const QString kSummaryGroup = QStringLiteral("documents.summarize");
const QString kModelSetting = QStringLiteral("documents/summaryModel");

double fractionDone(const bb::gen::SummaryProgress& p) {
  double within = 0;
  if (p.stage == bb::gen::SummaryProgress::Stage::Encoding)
    within = p.layers ? 0.2 * p.layers_done / p.layers : 0.0;
  else
    within = 0.2 + 0.8 * (p.max_tokens ? double(p.tokens_generated) / double(p.max_tokens) : 0.0);
  return (p.chunk + within) / std::max(1, p.chunks);
}

QString progressLine(const bb::gen::SummaryProgress& p) {
  const QString chunk = p.chunks > 1 ? QStringLiteral("chunk %1 of %2: ").arg(p.chunk + 1).arg(p.chunks) : QString();
  if (p.stage == bb::gen::SummaryProgress::Stage::Encoding)
    return chunk + QStringLiteral("encoding the document, layer %1 of %2").arg(p.layers_done).arg(p.layers);
  const double rate = p.decode_seconds > 0 ? double(p.tokens_generated) / p.decode_seconds : 0.0;
  return chunk + QStringLiteral("generating, %1 of at most %2 tokens (%3 tokens/s)")
                     .arg(p.tokens_generated)
                     .arg(p.max_tokens)
                     .arg(rate, 0, 'f', 1);
}

}  // namespace

struct DocumentsPanel::Stream {
  std::mutex mu;
  bb::gen::SummaryProgress progress;
  bool any = false;
  std::atomic<bool> stop{false};
};

// ---------------------------------------------------------------- model

void DocumentsPanel::setSummaryModelDir(const QString& dir) {
  modelError_.clear();
  modelTask_ = tasks_->submit(kModelGroup, QStringLiteral("Loading the summarization model"), [this, dir](TaskContext& ctx) {
    ctx.setProgress(0.3, QFileInfo(dir).fileName());
    auto model = std::make_shared<const SummaryModel>(loadSummaryModel(dir));
    return TaskManager::Finish([this, model] {
      model_ = model;
      modelError_.clear();
      clearError();
      const bb::ModelConfig& c = model_->model->config();
      const bb::gen::GenerationConfig g = bb::gen::generation_config_for(c);
      SummarySettings s = summarySettings();
      s.beams = c.extra.count("num_beams") ? g.num_beams : 5;  // the CLI's BigBird-Pegasus defaults
      s.maxLength = std::min<int64_t>(c.extra.count("max_length") ? g.max_length : 256, c.max_position_embeddings);
      s.minLength = c.extra.count("min_length") ? g.min_length : 0;
      setSummarySettings(s);
      if (persistent_) QSettings().setValue(kModelSetting, model_->dir);
      recount();
    });
  });
  refreshModelLabel();
  refreshButtons();
}

void DocumentsPanel::offerModel(const QString& dir) {
  try {
    if (bb::load_config(QDir(dir).filePath(QStringLiteral("config.json")).toStdString()).family == bb::ModelFamily::BigBirdPegasus)
      setSummaryModelDir(dir);
  } catch (const bb::Error&) {
    // Not a model folder: the model manager reports that itself.
  }
}

void DocumentsPanel::restoreSummaryModel() {
  const QString dir = QSettings().value(kModelSetting).toString();
  if (!dir.isEmpty() && QFileInfo(dir).isDir()) setSummaryModelDir(dir);
}

void DocumentsPanel::chooseSummaryModelDialog() {
  const QString start = model_ ? model_->dir : QDir::homePath();
  const QString dir = QFileDialog::getExistingDirectory(
      this, QStringLiteral("Summarization model (a BigBird-Pegasus folder with config.json and model.safetensors)"), start);
  if (!dir.isEmpty()) setSummaryModelDir(dir);
}

void DocumentsPanel::refreshModelLabel() {
  if (modelTask_) {
    modelLabel_->setText(QStringLiteral("Loading the summarization model…"));
  } else if (model_) {
    modelLabel_->setText(QStringLiteral("Summarization model: ") + model_->summary());
    modelLabel_->setToolTip(model_->dir + QStringLiteral("\ntokenizer: ") + model_->tokenizerPath);
  } else {
    modelLabel_->setText(
        QStringLiteral("No summarization model. Choose a BigBird-Pegasus folder (config.json + model.safetensors) with "
                       "Model…; to get one, run <code>bigbird pull google/bigbird-pegasus-large-arxiv</code> and choose "
                       "its folder under ~/.cache/huggingface/hub."));
  }
}

SummarySettings DocumentsPanel::summarySettings() const {
  SummarySettings s;
  s.beams = beams_->value();
  s.maxLength = maxLength_->value();
  s.minLength = minLength_->value();
  s.longDocument = bb::gen::LongDocument(longDocument_->currentData().toInt());
  return s;
}

void DocumentsPanel::setSummarySettings(const SummarySettings& s) {
  beams_->setValue(s.beams);
  maxLength_->setValue(int(s.maxLength));
  minLength_->setValue(int(s.minLength));
  longDocument_->setCurrentIndex(longDocument_->findData(int(s.longDocument)));
}

// ---------------------------------------------------------------- running

void DocumentsPanel::summarize() {
  if (summaryTask_) return;
  if (!document_) {
    showError(QStringLiteral("Open a document first: drop a file on the window, use Open…, or paste text."));
    return;
  }
  if (!model_) {
    showError(modelTask_ ? QStringLiteral("The summarization model is still loading; try again in a moment.")
                         : QStringLiteral("No summarization model: choose a BigBird-Pegasus folder (config.json + "
                                          "model.safetensors) with Model… first."));
    return;
  }
  const SummarySettings s = summarySettings();
  bb::gen::SummarizeOptions opt;
  const bb::ModelConfig& c = model_->model->config();
  opt.generation = bb::gen::generation_config_for(c);
  if (!c.extra.count("length_penalty")) opt.generation.length_penalty = 0.8;
  opt.generation.num_beams = s.beams;
  opt.generation.max_length = s.maxLength;
  opt.generation.min_length = s.minLength;
  opt.long_document = s.longDocument;
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  opt.backend = backend.kind;
  opt.device = backend.device;
  // Per token, one row over the input: cheap next to decoding, but the capture has no GPU path yet,
  // so with a GPU backend the summary decodes there and comes without source passages.
  opt.generation.capture_cross_attention = backend.kind == bb::backend::Kind::Cpu;
  try {
    bb::gen::validate(opt.generation, c.vocab_size);
  } catch (const bb::Error& e) {
    showError(QStringLiteral("Summary settings: ") + QString::fromUtf8(e.what()));
    return;
  }

  clearError();
  stream_ = std::make_shared<Stream>();
  auto model = model_;
  auto doc = document_;
  auto stream = stream_;
  summaryStatus_ = QStringLiteral("Starting…");
  summaryStatusLabel_->setText(summaryStatus_);
  progress_->setValue(0);
  progress_->show();
  updatingSummary_ = true;
  summaryView_->clear();
  updatingSummary_ = false;
  summaryView_->setExtraSelections({});
  highlighted_.clear();
  refreshSourceHighlights();
  remoteSummary_ = runOn_->currentIndex() > 0;
  if (remoteSummary_) {
    summaryTask_ = submitRemoteSummary(runners_[size_t(runOn_->currentIndex() - 1)], opt, s);
    refreshButtons();
    return;
  }
  summaryTask_ = tasks_->submit(
      kSummaryGroup, QStringLiteral("Summarizing %1").arg(doc->label), [this, model, doc, stream, opt, s](TaskContext& ctx) {
        const auto t0 = std::chrono::steady_clock::now();
        bb::gen::SummaryResult result = bb::gen::summarize(
            *model->model, *model->tokenizer, doc->text, opt,
            [&](const bb::gen::SummaryProgress& p) {
              if (ctx.cancelled()) {
                stream->stop.store(true);  // the decoder stops at its next step
                if (p.stage == bb::gen::SummaryProgress::Stage::Encoding) throw TaskCancelled{};
              }
              {
                std::lock_guard<std::mutex> lock(stream->mu);
                stream->progress = p;
                stream->any = true;
              }
              ctx.setProgress(fractionDone(p), progressLine(p));
            },
            &stream->stop);
        std::vector<std::string> used;
        for (const bb::gen::ChunkSummary& ch : result.chunks) used.insert(used.end(), {ch.encoder_backend, ch.decoder_backend});
        if (!used.empty()) ComputeBackend::instance().reportUsed(combineUsed(used));
        ctx.checkCancelled();
        auto record = std::make_shared<SummaryRecord>();
        record->document = doc;
        record->sentences = mapSummaryToSource(result, *model->tokenizer, doc->text);
        record->result = std::move(result);
        record->modelDir = model->dir;
        record->beams = s.beams;
        record->maxLength = s.maxLength;
        record->finishedAt = QDateTime::currentDateTime();
        record->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::shared_ptr<const SummaryRecord> done = record;
        return TaskManager::Finish([this, done] { addFinishedSummary(done); });
      });
  refreshButtons();
}

void DocumentsPanel::addFinishedSummary(std::shared_ptr<const SummaryRecord> done) {
  history_.push_back(done);
  historyList_->addItem(done->title());
  summaryStatus_ = QStringLiteral("Done: %1 tokens in %2 s (encoder %3 s, decoder %4 s).%5")
                       .arg(done->result.generated_tokens)
                       .arg(done->seconds, 0, 'f', 2)
                       .arg(done->result.encode_s, 0, 'f', 2)
                       .arg(done->result.decode_s, 0, 'f', 2)
                       .arg(summaryBackends(done->result).isEmpty() ? QString()
                                                                    : QStringLiteral(" ") + summaryBackends(done->result) + QStringLiteral("."));
  bool passages = false;
  for (const bb::gen::ChunkSummary& ch : done->result.chunks) passages = passages || !ch.cross_attention.empty();
  if (!passages && !remoteSummary_)
    summaryStatus_ += QStringLiteral(" Source passages are recorded with the CPU backend only (Settings ▸ Compute Backend).");
  summaryStatusLabel_->setText(summaryStatus_);
  const QSignalBlocker block(historyList_);
  historyList_->setCurrentRow(historyList_->count() - 1);
  showRecord(done);
}

void DocumentsPanel::cancelSummary() {
  if (!summaryTask_) return;
  tasks_->cancel(summaryTask_);
  if (stream_) stream_->stop.store(true);
  summaryStatusLabel_->setText(QStringLiteral("Cancelling…"));
}

QString DocumentsPanel::summaryStatus() const { return summaryStatus_; }

QString DocumentsPanel::streamingText() const { return summaryTask_ ? summaryView_->toPlainText() : QString(); }

void DocumentsPanel::onStreamProgress() {
  if (!stream_) return;
  bb::gen::SummaryProgress p;
  {
    std::lock_guard<std::mutex> lock(stream_->mu);
    if (!stream_->any) return;
    p = stream_->progress;
  }
  progress_->setValue(int(1000 * fractionDone(p)));
  summaryStatus_ = progressLine(p);
  summaryStatusLabel_->setText(summaryStatus_);
  if (p.stage == bb::gen::SummaryProgress::Stage::Decoding) {
    updatingSummary_ = true;
    summaryView_->setPlainText(QString::fromStdString(p.partial_text));
    updatingSummary_ = false;
  }
}

// ---------------------------------------------------------------- results

void DocumentsPanel::showRecord(std::shared_ptr<const SummaryRecord> r) {
  current_ = std::move(r);
  const QString text = QString::fromStdString(current_->result.summary);
  summaryIndex_ = CodePointIndex(text);
  updatingSummary_ = true;
  summaryView_->setPlainText(text);
  updatingSummary_ = false;
  const QString notice = QString::fromStdString(current_->result.notice);
  noticeLabel_->setText(notice);
  noticeLabel_->setVisible(!notice.isEmpty());
  selectSummarySentence(-1);
  refreshButtons();
}

void DocumentsPanel::showHistoryEntry(int index) {
  if (index < 0 || index >= int(history_.size())) return;
  showRecord(history_[size_t(index)]);
  summaryStatusLabel_->setText(QStringLiteral("From the history: %1").arg(history_[size_t(index)]->title()));
}

void DocumentsPanel::onSummaryCursorMoved() {
  if (updatingSummary_ || !current_ || summaryTask_) return;
  const int64_t cp = summaryIndex_.toCodePoint(summaryView_->textCursor().position());
  const std::vector<SummarySentence>& ss = current_->sentences;
  int found = -1;
  for (size_t i = 0; i < ss.size(); ++i)
    if (cp >= ss[i].begin && cp <= ss[i].end) {
      found = int(i);
      break;
    }
  if (found != selectedSentence_) selectSummarySentence(found);
}

void DocumentsPanel::selectSummarySentence(int index) {
  highlighted_.clear();
  QList<QTextEdit::ExtraSelection> marks;
  const bool valid = current_ && index >= 0 && index < int(current_->sentences.size());
  selectedSentence_ = valid ? index : -1;
  if (valid) {
    const SummarySentence& s = current_->sentences[size_t(index)];
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(summaryView_->document());
    mark.cursor.setPosition(summaryIndex_.toUtf16(s.begin));
    mark.cursor.setPosition(summaryIndex_.toUtf16(s.end), QTextCursor::KeepAnchor);
    mark.format.setBackground(QColor(0xcc, 0xe4, 0xff));
    marks.append(mark);
    if (current_->document != document_) {
      summaryStatusLabel_->setText(QStringLiteral("The document this summary came from is no longer open."));
    } else if (s.passages.empty()) {
      summaryStatusLabel_->setText(QStringLiteral("No cross-attention was recorded for this sentence."));
    } else {
      highlighted_ = s.passages;
      QStringList where;
      for (const SourcePassage& p : s.passages)
        where << (document_->pages() > 0 ? QStringLiteral("page %1").arg(document_->pageAt(p.begin))
                                         : QStringLiteral("character %1").arg(p.begin));
      summaryStatusLabel_->setText(QStringLiteral("Sentence %1 attended most to %2 source passage(s), highlighted: %3.")
                                       .arg(index + 1)
                                       .arg(s.passages.size())
                                       .arg(where.join(QStringLiteral(", "))));
      QTextCursor c(source_->document());
      c.setPosition(sourceIndex_.toUtf16(s.passages.front().begin));
      source_->setTextCursor(c);
      source_->centerCursor();
    }
  }
  summaryView_->setExtraSelections(marks);
  refreshSourceHighlights();
}

void DocumentsPanel::exportCurrentSummary(const QString& path) {
  if (!current_) throw bb::Error("there is no summary to export yet");
  exportSummary(*current_, path);
}

void DocumentsPanel::exportSummaryDialog() {
  if (!current_) return;
  const QString base = QFileInfo(current_->document ? current_->document->label : QStringLiteral("document")).completeBaseName();
  const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export the summary"), base + QStringLiteral("-summary.md"),
                                                    QStringLiteral("Markdown (*.md);;Text (*.txt)"));
  if (path.isEmpty()) return;
  try {
    exportCurrentSummary(path);
    emit message(QStringLiteral("Saved %1").arg(path), false);
  } catch (const bb::Error& e) {
    showError(QStringLiteral("Export failed: ") + QString::fromUtf8(e.what()));
  }
}

void DocumentsPanel::copySummary() {
  if (!current_) return;
  QGuiApplication::clipboard()->setText(QString::fromStdString(current_->result.summary));
  emit message(QStringLiteral("Summary copied"), false);
}

}  // namespace bb::ui::documents
