#pragma once
// "Model outputs": the Attention Lab's encoder model on the open document. Fill-mask (click a word
// in the document to mask it and see the top-k), classification (labels and probabilities) and
// QA (a question -> the answer span highlighted in the document, with its score), for the heads
// the checkpoint has. Runs on the TaskManager.
#include <QString>
#include <QWidget>
#include <functional>
#include <memory>

#include "engine/models/bigbird_model.h"
#include "engine/tokenize/tokenizer.h"
#include "ui/documents/document_text.h"
#include "ui/documents/encoder_outputs.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;

namespace bb::ui {
class TaskManager;
}

namespace bb::ui::documents {

class ModelOutputsView : public QWidget {
  Q_OBJECT

 public:
  explicit ModelOutputsView(TaskManager* tasks, QWidget* parent = nullptr);
  ~ModelOutputsView() override;

  void setModel(std::shared_ptr<const bb::BigBirdModel> model, std::shared_ptr<const bb::tok::Tokenizer> tokenizer,
                const QString& name);
  void setDocument(std::shared_ptr<const DocumentText> document);
  bool hasModel() const { return model_ != nullptr; }

  bool maskOnClick() const;
  void maskWord(int64_t begin, int64_t end);  // code points of the document
  void classify();
  void ask(const QString& question);

  const MaskedWord* maskResult() const { return mask_.get(); }
  const Classification* classification() const { return classification_.get(); }
  const Answer* answer() const { return answer_.get(); }
  QString errorText() const { return error_; }

 signals:
  void highlightsChanged();  // the masked word or the answer span moved
  void finished(bool ok, const QString& error);

 private:
  void run(const QString& title, std::function<std::function<void()>()> work);
  void refresh();
  void fail(const QString& error);

  TaskManager* tasks_;
  std::shared_ptr<const bb::BigBirdModel> model_;
  std::shared_ptr<const bb::tok::Tokenizer> tokenizer_;
  QString modelName_;
  std::shared_ptr<const DocumentText> document_;
  std::shared_ptr<const MaskedWord> mask_;
  std::shared_ptr<const Classification> classification_;
  std::shared_ptr<const Answer> answer_;
  QString error_;
  int task_ = 0;

  QLabel* modelLabel_ = nullptr;
  QLabel* errorLabel_ = nullptr;
  QCheckBox* maskOnClick_ = nullptr;
  QListWidget* maskList_ = nullptr;
  QPushButton* classifyButton_ = nullptr;
  QListWidget* classList_ = nullptr;
  QLineEdit* question_ = nullptr;
  QPushButton* askButton_ = nullptr;
  QLabel* answerLabel_ = nullptr;
};

}  // namespace bb::ui::documents
