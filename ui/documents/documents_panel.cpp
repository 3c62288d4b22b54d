#include "ui/documents/documents_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QMouseEvent>
#include <QSplitter>
#include <QTabWidget>
#include <QTextBlock>
#include <QVBoxLayout>

#include "engine/core/error.h"
#include "ui/documents/model_outputs_view.h"
#include "ui/lab_paths.h"
#include "ui/task_manager.h"

namespace bb::ui::documents {

namespace {

const QString kLoadGroup = QStringLiteral("documents.load");
const QString kCountGroup = QStringLiteral("documents.count");
const QString kCancelled = QStringLiteral("cancelled");

QString number(int64_t n) { return QLocale::system().toString(qlonglong(n)); }

QPushButton* button(const QString& text, const QString& tip, QWidget* parent) {
  auto* b = new QPushButton(text, parent);
  b->setToolTip(tip);
  return b;
}

}  // namespace

DocumentsPanel::DocumentsPanel(TaskManager* tasks, bool persistent, QWidget* parent)
    : QWidget(parent), tasks_(tasks), persistent_(persistent), recent_(persistent) {
  setObjectName(QStringLiteral("documentsPanel"));
  buildUi();
  connect(tasks_, &TaskManager::taskFinished, this, [this](int id, const QString&, bool ok, const QString& error) {
    const bool failed = !ok && error != kCancelled;
    if (id == loadTask_) {
      loadTask_ = 0;
      if (ok) emit documentLoaded();
      if (failed) {
        showError(error);
        emit documentFailed(error);
      }
      if (!ok && !document_) budgetLabel_->setText(QStringLiteral("No document. Drop a .txt, .md, .html or .pdf file here, or paste text."));
      if (!ok && document_) refreshBudgetLabel();
    } else if (id == countTask_) {
      countTask_ = 0;
      if (failed) showError(QStringLiteral("Counting tokens failed: ") + error);
    } else if (id == modelTask_) {
      modelTask_ = 0;
      if (failed) {
        modelError_ = error;
        showError(QStringLiteral("Summarization model: ") + error);
      }
      refreshModelLabel();
      emit summaryModelChanged();
    } else if (id == summaryTask_) {
      summaryTask_ = 0;
      progress_->hide();
      if (!ok) {
        summaryStatus_ = error == kCancelled ? QStringLiteral("Cancelled. The partial summary above was not kept.")
                                             : QStringLiteral("Summarization failed: ") + error;
        summaryStatusLabel_->setText(summaryStatus_);
        if (failed) showError(summaryStatus_);
      }
      emit summaryFinished(ok, ok ? QString() : error);
    } else {
      return;
    }
    refreshButtons();
  });
  connect(tasks_, &TaskManager::taskProgress, this, [this](int id, double fraction, const QString& detail) {
    if (id != summaryTask_) return;
    if (!remoteSummary_) return onStreamProgress();
    progress_->setValue(int(1000 * fraction));
    summaryStatus_ = detail;
    summaryStatusLabel_->setText(detail);
  });
  refreshModelLabel();
  refreshButtons();
  if (persistent_) restoreSummaryModel();
}

DocumentsPanel::~DocumentsPanel() {
  for (int id : {loadTask_, countTask_, modelTask_, summaryTask_})
    if (id) tasks_->cancel(id);
}

void DocumentsPanel::buildUi() {
  auto* top = new QHBoxLayout;
  auto* open = button(QStringLiteral("Open…"), QStringLiteral("Open a .txt, .md, .html or .pdf document (Ctrl+O)"), this);
  auto* paste = button(QStringLiteral("Paste"), QStringLiteral("Use the clipboard's text as the document"), this);
  labButton_ = button(QStringLiteral("Show in Attention Lab"), QStringLiteral("Run the Attention Lab's encoder views on this text"), this);
  connect(open, &QPushButton::clicked, this, &DocumentsPanel::openFileDialog);
  connect(paste, &QPushButton::clicked, this, &DocumentsPanel::pasteFromClipboard);
  connect(labButton_, &QPushButton::clicked, this, [this] {
    if (document_) emit showInLabRequested(document_->label, QString::fromStdString(document_->text));
  });
  top->addWidget(open);
  top->addWidget(paste);
  top->addWidget(labButton_);
  top->addStretch(1);

  errorLabel_ = new QLabel(this);
  errorLabel_->setObjectName(QStringLiteral("documentsError"));
  errorLabel_->setWordWrap(true);
  errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  errorLabel_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; background: #fdecea; padding: 6px; border-radius: 3px; }"));
  errorLabel_->hide();
  budgetLabel_ = new QLabel(QStringLiteral("No document. Drop a .txt, .md, .html or .pdf file here, or paste text."), this);
  budgetLabel_->setObjectName(QStringLiteral("documentsBudget"));
  budgetLabel_->setWordWrap(true);

  source_ = new QPlainTextEdit(this);
  source_->setObjectName(QStringLiteral("documentsSource"));
  source_->setReadOnly(true);
  source_->setAcceptDrops(false);  // drops go to the window, which opens them
  source_->setPlaceholderText(QStringLiteral("The document's text appears here."));
  source_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);

  // Right: model, settings, actions, the summary and the session's history.
  auto* right = new QWidget(this);
  auto* rl = new QVBoxLayout(right);
  rl->setContentsMargins(0, 0, 0, 0);
  auto* modelRow = new QHBoxLayout;
  modelLabel_ = new QLabel(right);
  modelLabel_->setObjectName(QStringLiteral("documentsModel"));
  modelLabel_->setWordWrap(true);
  modelLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* chooseModel = button(QStringLiteral("Model…"), QStringLiteral("Choose a BigBird-Pegasus folder (config.json + model.safetensors)"), right);
  connect(chooseModel, &QPushButton::clicked, this, &DocumentsPanel::chooseSummaryModelDialog);
  modelRow->addWidget(modelLabel_, 1);
  modelRow->addWidget(chooseModel);
  rl->addLayout(modelRow);

  auto* settings = new QHBoxLayout;
  beams_ = new QSpinBox(right);
  beams_->setRange(1, 16);
  beams_->setPrefix(QStringLiteral("beams "));
  maxLength_ = new QSpinBox(right);
  maxLength_->setRange(2, 4096);
  maxLength_->setPrefix(QStringLiteral("max "));
  maxLength_->setToolTip(QStringLiteral("Longest summary in tokens (with the start token)"));
  minLength_ = new QSpinBox(right);
  minLength_->setRange(0, 4096);
  minLength_->setPrefix(QStringLiteral("min "));
  longDocument_ = new QComboBox(right);
  longDocument_->addItem(QStringLiteral("Long: truncate"), int(bb::gen::LongDocument::Truncate));
  longDocument_->addItem(QStringLiteral("Long: chunks"), int(bb::gen::LongDocument::Chunk));
  longDocument_->setToolTip(QStringLiteral("Documents longer than the model reads: summarize the first part, or every part in turn"));
  runOn_ = new QComboBox(right);
  runOn_->setToolTip(QStringLiteral("Run the summary on this computer or on a runner saved in the Remote dock"));
  setRunners({});  // the main window hands over the runners saved in the Remote dock
  for (QWidget* w : {static_cast<QWidget*>(beams_), static_cast<QWidget*>(maxLength_), static_cast<QWidget*>(minLength_),
                     static_cast<QWidget*>(longDocument_), static_cast<QWidget*>(runOn_)})
    settings->addWidget(w);
  setSummarySettings(SummarySettings{});
  rl->addLayout(settings);

  auto* actions = new QHBoxLayout;
  summarizeButton_ = button(QStringLiteral("Summarize"), QStringLiteral("Summarize the document (F8)"), right);
  summarizeButton_->setShortcut(QKeySequence(QStringLiteral("F8")));
  cancelButton_ = button(QStringLiteral("Cancel"), QStringLiteral("Stop summarizing"), right);
  copyButton_ = button(QStringLiteral("Copy"), QStringLiteral("Copy the summary to the clipboard"), right);
  exportButton_ = button(QStringLiteral("Export…"), QStringLiteral("Save the summary as Markdown or text"), right);
  connect(summarizeButton_, &QPushButton::clicked, this, &DocumentsPanel::summarize);
  connect(cancelButton_, &QPushButton::clicked, this, &DocumentsPanel::cancelSummary);
  connect(copyButton_, &QPushButton::clicked, this, &DocumentsPanel::copySummary);
  connect(exportButton_, &QPushButton::clicked, this, &DocumentsPanel::exportSummaryDialog);
  for (QPushButton* b : {summarizeButton_, cancelButton_, copyButton_, exportButton_}) actions->addWidget(b);
  rl->addLayout(actions);

  progress_ = new QProgressBar(right);
  progress_->setRange(0, 1000);
  progress_->hide();
  rl->addWidget(progress_);
  summaryStatusLabel_ = new QLabel(right);
  summaryStatusLabel_->setObjectName(QStringLiteral("documentsSummaryStatus"));
  summaryStatusLabel_->setWordWrap(true);
  rl->addWidget(summaryStatusLabel_);
  summaryView_ = new QPlainTextEdit(right);
  summaryView_->setObjectName(QStringLiteral("documentsSummary"));
  summaryView_->setReadOnly(true);
  summaryView_->setAcceptDrops(false);
  summaryView_->setPlaceholderText(QStringLiteral("The summary appears here. Click a sentence to see the source passages it drew on."));
  summaryView_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  connect(summaryView_, &QPlainTextEdit::cursorPositionChanged, this, &DocumentsPanel::onSummaryCursorMoved);
  rl->addWidget(summaryView_, 3);
  noticeLabel_ = new QLabel(right);
  noticeLabel_->setWordWrap(true);
  noticeLabel_->setStyleSheet(QStringLiteral("QLabel { color: #8a5a00; }"));
  noticeLabel_->hide();
  rl->addWidget(noticeLabel_);
  rl->addWidget(new QLabel(QStringLiteral("History of this session"), right));
  historyList_ = new QListWidget(right);
  historyList_->setObjectName(QStringLiteral("documentsHistory"));
  connect(historyList_, &QListWidget::currentRowChanged, this, [this](int row) {
    if (row >= 0) showHistoryEntry(row);
  });
  rl->addWidget(historyList_, 1);

  outputs_ = new ModelOutputsView(tasks_, this);
  connect(outputs_, &ModelOutputsView::highlightsChanged, this, &DocumentsPanel::refreshSourceHighlights);
  source_->viewport()->installEventFilter(this);
  auto* tabs = new QTabWidget(this);
  tabs->addTab(right, QStringLiteral("Summary"));
  tabs->addTab(outputs_, QStringLiteral("Model outputs"));

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(source_);
  split->addWidget(tabs);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(errorLabel_);
  layout->addWidget(budgetLabel_);
  layout->addWidget(split, 1);
}

// ---------------------------------------------------------------- documents

void DocumentsPanel::openFile(const QString& path) {
  loadDocument(QFileInfo(path).fileName(), [path] { return readDocumentFile(path); }, path);
}

void DocumentsPanel::openText(const QString& label, const QString& text) {
  loadDocument(label, [label, text] { return documentFromText(label, text); }, QString());
}

void DocumentsPanel::pasteFromClipboard() {
  const QString text = QGuiApplication::clipboard()->text();
  if (text.isEmpty()) {
    showError(QStringLiteral("The clipboard holds no text to paste."));
    return;
  }
  openText(QStringLiteral("Pasted text"), text);
}

void DocumentsPanel::openFileDialog() {
  const QString start = document_ && !document_->path.isEmpty() ? QFileInfo(document_->path).absolutePath() : samplesDir();
  const QString path = QFileDialog::getOpenFileName(
      this, QStringLiteral("Open Document"), start,
      QStringLiteral("Documents (*.txt *.md *.markdown *.html *.htm *.pdf *.text);;All files (*)"));
  if (!path.isEmpty()) openFile(path);
}

void DocumentsPanel::countingTokenizer(std::shared_ptr<const bb::tok::Tokenizer>* tokenizer, QString* name,
                                       int64_t* limit) const {
  if (model_) {
    *tokenizer = model_->tokenizer;
    *name = QFileInfo(model_->tokenizerPath).fileName() + QStringLiteral(" (summarization model)");
    *limit = model_->maxInputTokens();
  } else if (encoderTokenizer_) {
    *tokenizer = encoderTokenizer_;
    *name = encoderTokenizerName_;
    *limit = encoderLimit_;
  } else {
    *tokenizer = bundledTokenizer_;  // may be null: loaded on the worker the first time
    *name = QStringLiteral("gpt2.model (BigBird)");
    *limit = 4096;
  }
}

void DocumentsPanel::loadDocument(const QString& label, std::function<DocumentText()> read, const QString& recentPath) {
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer;
  QString name;
  int64_t limit = 0;
  countingTokenizer(&tokenizer, &name, &limit);
  const std::string bundled = bundledVocab(QStringLiteral("gpt2.model")).toStdString();
  budgetLabel_->setText(QStringLiteral("Opening %1…").arg(label));
  loadTask_ = tasks_->submit(
      kLoadGroup, QStringLiteral("Opening %1").arg(label),
      [this, read = std::move(read), tokenizer, name, limit, bundled, recentPath](TaskContext& ctx) mutable {
        ctx.setProgress(0.1, QStringLiteral("extracting text"));
        auto doc = std::make_shared<const DocumentText>(read());
        ctx.checkCancelled();
        ctx.setProgress(0.5, QStringLiteral("counting tokens"));
        const bool loadedBundled = !tokenizer;
        if (!tokenizer) tokenizer = std::shared_ptr<const bb::tok::Tokenizer>(bb::tok::load_tokenizer(bundled));
        const TokenBudget budget = measureTokens(*tokenizer, doc->text, limit);
        return TaskManager::Finish([this, doc, budget, tokenizer, name, loadedBundled, recentPath] {
          if (loadedBundled) bundledTokenizer_ = tokenizer;
          if (!recentPath.isEmpty()) {
            recent_.add(doc->path);
            emit recentFilesChanged();
          }
          showDocument(doc, budget, name);
        });
      });
  refreshButtons();
}

void DocumentsPanel::showDocument(std::shared_ptr<const DocumentText> doc, const TokenBudget& budget, const QString& tokenizerName) {
  clearError();
  document_ = std::move(doc);
  budget_ = budget;
  tokenizerName_ = tokenizerName;
  highlighted_.clear();
  const QString text = QString::fromStdString(document_->text);
  sourceIndex_ = CodePointIndex(text);
  source_->setPlainText(text);
  outputs_->setDocument(document_);
  refreshBudgetLabel();
  refreshSourceHighlights();
  // A summary of another document no longer points into this text.
  if (current_ && current_->document != document_) selectSummarySentence(-1);
  refreshButtons();
}

void DocumentsPanel::setEncoderTokenizer(std::shared_ptr<const bb::tok::Tokenizer> tokenizer, const QString& name, int64_t limit) {
  encoderTokenizer_ = std::move(tokenizer);
  encoderTokenizerName_ = name;
  encoderLimit_ = limit;
  if (!model_) recount();
}

void DocumentsPanel::setEncoderModel(std::shared_ptr<const bb::BigBirdModel> model, std::shared_ptr<const bb::tok::Tokenizer> tokenizer,
                                     const QString& name, int64_t limit) {
  outputs_->setModel(std::move(model), tokenizer, name);
  setEncoderTokenizer(std::move(tokenizer), name, limit);
}

bool DocumentsPanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == source_->viewport() && event->type() == QEvent::MouseButtonRelease && outputs_->maskOnClick()) {
    auto* e = static_cast<QMouseEvent*>(event);
    QTextCursor word = source_->cursorForPosition(e->position().toPoint());
    word.select(QTextCursor::WordUnderCursor);
    if (e->button() == Qt::LeftButton && word.hasSelection() && !source_->textCursor().hasSelection())
      outputs_->maskWord(sourceIndex_.toCodePoint(word.selectionStart()), sourceIndex_.toCodePoint(word.selectionEnd()));
  }
  return QWidget::eventFilter(watched, event);
}

void DocumentsPanel::recount() {
  if (!document_) return;
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer;
  QString name;
  int64_t limit = 0;
  countingTokenizer(&tokenizer, &name, &limit);
  if (!tokenizer) return;  // the bundled one is loaded with the next document
  std::shared_ptr<const DocumentText> doc = document_;
  countTask_ = tasks_->submit(kCountGroup, QStringLiteral("Counting tokens"), [this, doc, tokenizer, name, limit](TaskContext&) {
    const TokenBudget budget = measureTokens(*tokenizer, doc->text, limit);
    return TaskManager::Finish([this, doc, budget, name] {
      if (doc != document_) return;
      budget_ = budget;
      tokenizerName_ = name;
      refreshBudgetLabel();
      refreshSourceHighlights();
    });
  });
}

QString DocumentsPanel::errorText() const { return error_; }

void DocumentsPanel::showError(const QString& text) {
  error_ = text;
  errorLabel_->setText(text);
  errorLabel_->show();
  emit message(text, true);
}

void DocumentsPanel::clearError() {
  error_.clear();
  errorLabel_->clear();
  errorLabel_->hide();
}

QString DocumentsPanel::budgetText() const { return budgetLabel_->text(); }

void DocumentsPanel::refreshBudgetLabel() {
  if (!document_) return;
  const DocumentText& d = *document_;
  QString where = d.label + QStringLiteral(" (") + d.format;
  if (d.pages() > 0) where += QStringLiteral(", %1 pages").arg(d.pages());
  where += QStringLiteral(")");
  QString line = QStringLiteral("%1: %2 tokens with %3; the model reads %4.")
                     .arg(where, number(budget_.tokens), tokenizerName_, number(budget_.limit));
  if (budget_.truncated()) {
    QString from = QStringLiteral("character %1").arg(number(budget_.cutChar));
    if (d.pages() > 0) from = QStringLiteral("page %1, ").arg(d.pageAt(budget_.cutChar)) + from;
    line += QStringLiteral(" The last %1 tokens (from %2, greyed out) are cut unless you summarize in chunks.")
                .arg(number(budget_.droppedTokens()), from);
  } else {
    line += QStringLiteral(" It fits: %1 tokens to spare.").arg(number(budget_.limit - budget_.tokens));
  }
  budgetLabel_->setText(line);
}

void DocumentsPanel::refreshSourceHighlights() {
  QList<QTextEdit::ExtraSelection> marks;
  if (document_ && budget_.truncated()) {
    QTextEdit::ExtraSelection cut;
    cut.cursor = QTextCursor(source_->document());
    cut.cursor.setPosition(sourceIndex_.toUtf16(budget_.cutChar));
    cut.cursor.movePosition(QTextCursor::End, QTextCursor::KeepAnchor);
    cut.format.setBackground(QColor(0xe6, 0xe6, 0xe6));
    cut.format.setForeground(QColor(0x80, 0x80, 0x80));
    cut.format.setToolTip(QStringLiteral("Beyond the model's %1 tokens: not read when truncating").arg(budget_.limit));
    marks.append(cut);
  }
  auto markSpan = [&](int64_t begin, int64_t end, const QColor& colour) {
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(source_->document());
    mark.cursor.setPosition(sourceIndex_.toUtf16(begin));
    mark.cursor.setPosition(sourceIndex_.toUtf16(end), QTextCursor::KeepAnchor);
    mark.format.setBackground(colour);
    marks.append(mark);
  };
  if (document_ && outputs_->maskResult()) markSpan(outputs_->maskResult()->begin, outputs_->maskResult()->end, QColor(0xff, 0xb3, 0xd9));
  if (document_ && outputs_->answer() && outputs_->answer()->end > outputs_->answer()->begin)
    markSpan(outputs_->answer()->begin, outputs_->answer()->end, QColor(0xa8, 0xe6, 0xa1));
  for (const SourcePassage& p : highlighted_) {
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(source_->document());
    mark.cursor.setPosition(sourceIndex_.toUtf16(p.begin));
    mark.cursor.setPosition(sourceIndex_.toUtf16(p.end), QTextCursor::KeepAnchor);
    mark.format.setBackground(QColor(0xff, 0xe0, 0x66));
    marks.append(mark);
  }
  source_->setExtraSelections(marks);
}

void DocumentsPanel::refreshButtons() {
  const bool busy = summaryTask_ != 0;
  summarizeButton_->setEnabled(!busy && document_ && modelTask_ == 0);
  cancelButton_->setEnabled(busy);
  copyButton_->setEnabled(current_ != nullptr);
  exportButton_->setEnabled(current_ != nullptr);
  labButton_->setEnabled(document_ != nullptr);
}

}  // namespace bb::ui::documents
