#pragma once
// The Documents panel: open (file, drop, paste) a .txt/.md/.html/.pdf, see its text with the
// token count of the current tokenizer and the part a 4096-token model would not read marked;
// summarize it with a BigBird-Pegasus model (progress, streaming tokens, cancel), see the summary
// beside the source with cross-attention highlighting, copy or export it, and go back to earlier
// summaries of the session. All extraction, tokenization and model work runs on the TaskManager.
#include <QString>
#include <QWidget>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/generate/summarizer.h"
#include "engine/models/bigbird_model.h"
#include "engine/remote/token_file.h"
#include "engine/tokenize/tokenizer.h"
#include "ui/documents/document_text.h"
#include "ui/documents/recent_files.h"
#include "ui/documents/summary_model.h"
#include "ui/documents/summary_record.h"
#include "ui/documents/text_positions.h"
#include "ui/documents/token_budget.h"

class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace bb::ui {
class TaskManager;
}

namespace bb::ui::documents {

class ModelOutputsView;

struct SummarySettings {
  int beams = 5;
  int64_t maxLength = 256;  // decoder length with the start token (HF max_length)
  int64_t minLength = 0;
  bb::gen::LongDocument longDocument = bb::gen::LongDocument::Truncate;
};

class DocumentsPanel : public QWidget {
  Q_OBJECT

 public:
  // `persistent`: recent files and the chosen model are kept in QSettings.
  DocumentsPanel(TaskManager* tasks, bool persistent, QWidget* parent = nullptr);
  ~DocumentsPanel() override;

  // --- documents (asynchronous: documentLoaded or documentFailed follows) ---
  void openFile(const QString& path);
  void openText(const QString& label, const QString& text);
  void pasteFromClipboard();
  void openFileDialog();
  const DocumentText* document() const { return document_.get(); }
  const TokenBudget& budget() const { return budget_; }
  QString tokenizerName() const { return tokenizerName_; }
  QString errorText() const;  // the message shown for the last failure ("" after a success)
  QString budgetText() const;
  RecentFiles& recentFiles() { return recent_; }
  // The lab's encoder tokenizer counts tokens while no summarization model is loaded.
  void setEncoderTokenizer(std::shared_ptr<const bb::tok::Tokenizer> tokenizer, const QString& name, int64_t limit);
  // The lab's encoder model: its tokenizer (above) and the "Model outputs" tab.
  void setEncoderModel(std::shared_ptr<const bb::BigBirdModel> model, std::shared_ptr<const bb::tok::Tokenizer> tokenizer,
                       const QString& name, int64_t limit);
  ModelOutputsView* modelOutputs() const { return outputs_; }

  // --- summarization ---
  void setSummaryModelDir(const QString& dir);  // asynchronous: summaryModelChanged follows
  // The app's current model changed (model manager): a BigBird-Pegasus one becomes the summarizer.
  void offerModel(const QString& dir);
  void chooseSummaryModelDialog();
  const SummaryModel* summaryModel() const { return model_.get(); }
  SummarySettings summarySettings() const;
  void setSummarySettings(const SummarySettings& s);
  void summarize();
  void cancelSummary();
  // Where summaries run: this computer or a saved remote runner (ui/remote: the Remote dock).
  void setRunners(const std::vector<bb::remote::SavedRunner>& runners);
  QComboBox* runOnBox() const { return runOn_; }
  bool summarizing() const { return summaryTask_ != 0; }
  QString summaryStatus() const;    // progress line, "Cancelled", or the error
  QString streamingText() const;    // the summary as it is generated
  const SummaryRecord* currentSummary() const { return current_.get(); }
  const std::vector<std::shared_ptr<const SummaryRecord>>& history() const { return history_; }
  void showHistoryEntry(int index);
  void exportCurrentSummary(const QString& path);  // throws bb::Error
  void exportSummaryDialog();
  void copySummary();
  // Highlights sentence `index` of the current summary and its source passages.
  void selectSummarySentence(int index);
  int selectedSentence() const { return selectedSentence_; }
  // Source passages highlighted now (code points of the document).
  const std::vector<SourcePassage>& highlightedPassages() const { return highlighted_; }

  QPlainTextEdit* sourceView() const { return source_; }
  QPlainTextEdit* summaryView() const { return summaryView_; }

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;  // clicks in the source: fill-mask

 signals:
  void documentLoaded();
  void documentFailed(const QString& error);
  void summaryModelChanged();
  void summaryFinished(bool ok, const QString& error);
  void recentFilesChanged();
  // "Show in Attention Lab": raise the lab's views of this document.
  void showInLabRequested(const QString& label, const QString& text);  // the text is handed to the lab on every load
  void message(const QString& text, bool error);

 private:
  struct Stream;
  void buildUi();
  void restoreSummaryModel();  // the folder chosen in an earlier run (persistent panels)
  void loadDocument(const QString& label, std::function<DocumentText()> read, const QString& recentPath);
  void showDocument(std::shared_ptr<const DocumentText> doc, const TokenBudget& budget, const QString& tokenizerName);
  void recount();
  void showError(const QString& text);
  void clearError();
  void refreshBudgetLabel();
  void refreshSourceHighlights();
  void refreshModelLabel();
  void refreshButtons();
  void showRecord(std::shared_ptr<const SummaryRecord> r);
  void onStreamProgress();
  int submitRemoteSummary(const bb::remote::SavedRunner& runner, const bb::gen::SummarizeOptions& opt, const SummarySettings& s);
  void addFinishedSummary(std::shared_ptr<const SummaryRecord> done);
  void onSummaryCursorMoved();
  void countingTokenizer(std::shared_ptr<const bb::tok::Tokenizer>* tokenizer, QString* name, int64_t* limit) const;

  TaskManager* tasks_;
  bool persistent_;
  RecentFiles recent_;
  std::shared_ptr<const DocumentText> document_;
  CodePointIndex sourceIndex_, summaryIndex_;
  TokenBudget budget_;
  QString tokenizerName_;
  QString error_;
  int loadTask_ = 0, countTask_ = 0, modelTask_ = 0, summaryTask_ = 0;
  std::shared_ptr<const bb::tok::Tokenizer> encoderTokenizer_, bundledTokenizer_;
  QString encoderTokenizerName_;
  int64_t encoderLimit_ = 4096;

  std::shared_ptr<const SummaryModel> model_;
  QString modelError_;
  std::shared_ptr<Stream> stream_;
  std::vector<bb::remote::SavedRunner> runners_;
  bool remoteSummary_ = false;  // the running summary runs on a runner: progress comes as task details
  QString summaryStatus_;
  std::shared_ptr<const SummaryRecord> current_;
  std::vector<std::shared_ptr<const SummaryRecord>> history_;
  std::vector<SourcePassage> highlighted_;
  int selectedSentence_ = -1;
  bool updatingSummary_ = false;  // programmatic text changes are not sentence clicks

  QLabel* errorLabel_ = nullptr;
  QLabel* budgetLabel_ = nullptr;
  QLabel* modelLabel_ = nullptr;
  QLabel* summaryStatusLabel_ = nullptr;
  QLabel* noticeLabel_ = nullptr;
  QPlainTextEdit* source_ = nullptr;
  QPlainTextEdit* summaryView_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QSpinBox* beams_ = nullptr;
  QSpinBox* maxLength_ = nullptr;
  QSpinBox* minLength_ = nullptr;
  QComboBox* longDocument_ = nullptr;
  QComboBox* runOn_ = nullptr;
  QPushButton* summarizeButton_ = nullptr;
  QPushButton* cancelButton_ = nullptr;
  QPushButton* copyButton_ = nullptr;
  QPushButton* exportButton_ = nullptr;
  QPushButton* labButton_ = nullptr;
  QListWidget* historyList_ = nullptr;
  ModelOutputsView* outputs_ = nullptr;
};

}  // namespace bb::ui::documents
