#include "ui/documents/model_outputs_view.h"

#include <QCheckBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "engine/core/error.h"
#include "ui/compute_backend.h"
#include "ui/task_manager.h"

namespace bb::ui::documents {

namespace {
const QString kGroup = QStringLiteral("documents.outputs");
QString percent(float p) { return QString::number(100.0 * p, 'f', 1) + QLatin1Char('%'); }
}  // namespace

ModelOutputsView::ModelOutputsView(TaskManager* tasks, QWidget* parent) : QWidget(parent), tasks_(tasks) {
  auto* layout = new QVBoxLayout(this);
  modelLabel_ = new QLabel(this);
  modelLabel_->setWordWrap(true);
  layout->addWidget(modelLabel_);
  errorLabel_ = new QLabel(this);
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
  errorLabel_->hide();
  layout->addWidget(errorLabel_);

  auto* fill = new QGroupBox(QStringLiteral("Fill-mask"), this);
  auto* fl = new QVBoxLayout(fill);
  maskOnClick_ = new QCheckBox(QStringLiteral("Click a word in the document to mask it"), fill);
  maskOnClick_->setChecked(true);
  maskList_ = new QListWidget(fill);
  fl->addWidget(maskOnClick_);
  fl->addWidget(maskList_);
  layout->addWidget(fill, 2);

  auto* cls = new QGroupBox(QStringLiteral("Classification"), this);
  auto* cl = new QVBoxLayout(cls);
  classifyButton_ = new QPushButton(QStringLiteral("Classify the document"), cls);
  connect(classifyButton_, &QPushButton::clicked, this, &ModelOutputsView::classify);
  classList_ = new QListWidget(cls);
  cl->addWidget(classifyButton_);
  cl->addWidget(classList_);
  layout->addWidget(cls, 1);

  auto* qa = new QGroupBox(QStringLiteral("Question answering"), this);
  auto* ql = new QVBoxLayout(qa);
  auto* row = new QHBoxLayout;
  question_ = new QLineEdit(qa);
  question_->setPlaceholderText(QStringLiteral("Ask a question about the document"));
  askButton_ = new QPushButton(QStringLiteral("Ask"), qa);
  connect(askButton_, &QPushButton::clicked, this, [this] { ask(question_->text()); });
  connect(question_, &QLineEdit::returnPressed, this, [this] { ask(question_->text()); });
  row->addWidget(question_, 1);
  row->addWidget(askButton_);
  answerLabel_ = new QLabel(qa);
  answerLabel_->setWordWrap(true);
  answerLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  ql->addLayout(row);
  ql->addWidget(answerLabel_);
  layout->addWidget(qa, 1);

  connect(tasks_, &TaskManager::taskFinished, this, [this](int id, const QString&, bool ok, const QString& error) {
    if (id != task_) return;
    task_ = 0;
    if (!ok && error != QStringLiteral("cancelled")) fail(error);
    refresh();
    emit finished(ok, error);
  });
  refresh();
}

ModelOutputsView::~ModelOutputsView() {
  if (task_) tasks_->cancel(task_);
}

void ModelOutputsView::setModel(std::shared_ptr<const bb::BigBirdModel> model, std::shared_ptr<const bb::tok::Tokenizer> tokenizer,
                                const QString& name) {
  model_ = std::move(model);
  tokenizer_ = std::move(tokenizer);
  modelName_ = name;
  mask_.reset();
  classification_.reset();
  answer_.reset();
  refresh();
  emit highlightsChanged();
}

void ModelOutputsView::setDocument(std::shared_ptr<const DocumentText> document) {
  document_ = std::move(document);
  mask_.reset();
  classification_.reset();
  answer_.reset();
  refresh();
}

bool ModelOutputsView::maskOnClick() const { return maskOnClick_->isChecked() && model_ && document_; }

void ModelOutputsView::fail(const QString& error) {
  error_ = error;
  errorLabel_->setText(error);
  errorLabel_->setVisible(!error.isEmpty());
}

void ModelOutputsView::run(const QString& title, std::function<std::function<void()>()> work) {
  fail(QString());
  if (!model_) {
    fail(QStringLiteral("No encoder model: load a BigBird model in the Attention Lab (File ▸ Load Model…)."));
    return;
  }
  if (!document_) {
    fail(QStringLiteral("Open a document first."));
    return;
  }
  task_ = tasks_->submit(kGroup, title, [work = std::move(work)](TaskContext&) { return TaskManager::Finish(work()); });
  refresh();
}

void ModelOutputsView::maskWord(int64_t begin, int64_t end) {
  auto model = model_;
  auto tokenizer = tokenizer_;
  auto doc = document_;
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  run(QStringLiteral("Fill-mask"), [this, model, tokenizer, doc, begin, end, backend] {
    auto r = std::make_shared<const MaskedWord>(predictMaskedWord(*model, *tokenizer, doc->text, begin, end, 5, backend));
    ComputeBackend::instance().reportUsed(r->backend);
    return std::function<void()>([this, r, doc] {
      if (doc != document_) return;
      mask_ = r;
      emit highlightsChanged();
    });
  });
}

void ModelOutputsView::classify() {
  auto model = model_;
  auto tokenizer = tokenizer_;
  auto doc = document_;
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  run(QStringLiteral("Classifying the document"), [this, model, tokenizer, doc, backend] {
    auto r = std::make_shared<const Classification>(classifyDocument(*model, *tokenizer, doc->text, backend));
    ComputeBackend::instance().reportUsed(r->backend);
    return std::function<void()>([this, r, doc] {
      if (doc == document_) classification_ = r;
    });
  });
}

void ModelOutputsView::ask(const QString& question) {
  auto model = model_;
  auto tokenizer = tokenizer_;
  auto doc = document_;
  const std::string q = question.toStdString();
  const bb::backend::Selection backend = ComputeBackend::instance().selection();
  run(QStringLiteral("Answering"), [this, model, tokenizer, doc, q, backend] {
    auto r = std::make_shared<const Answer>(answerQuestion(*model, *tokenizer, q, doc->text, 30, backend));
    ComputeBackend::instance().reportUsed(r->backend);
    return std::function<void()>([this, r, doc] {
      if (doc != document_) return;
      answer_ = r;
      emit highlightsChanged();
    });
  });
}

void ModelOutputsView::refresh() {
  if (!model_) {
    modelLabel_->setText(QStringLiteral("No encoder model. Load a BigBird model in the Attention Lab (File ▸ Load Model…) to see "
                                        "fill-mask, classification and question answering on this document."));
  } else {
    QStringList heads;
    if (model_->has_head(bb::Head::MaskedLM)) heads << QStringLiteral("fill-mask");
    if (model_->has_head(bb::Head::SequenceClassification)) heads << QStringLiteral("classification");
    if (model_->has_head(bb::Head::QuestionAnswering)) heads << QStringLiteral("question answering");
    modelLabel_->setText(QStringLiteral("Encoder model: %1 (%2).")
                             .arg(modelName_, heads.isEmpty() ? QStringLiteral("no task heads") : heads.join(QStringLiteral(", "))));
  }
  const bool idle = task_ == 0;
  classifyButton_->setEnabled(idle && model_ && model_->has_head(bb::Head::SequenceClassification));
  askButton_->setEnabled(idle && model_ && model_->has_head(bb::Head::QuestionAnswering));

  maskList_->clear();
  if (mask_) {
    maskList_->addItem(QStringLiteral("“%1” masked:").arg(QString::fromStdString(mask_->word)));
    for (const bb::MaskCandidate& c : mask_->candidates)
      maskList_->addItem(QStringLiteral("%1  %2").arg(percent(c.probability), QString::fromStdString(c.text)));
  }
  classList_->clear();
  if (classification_) {
    for (const LabelScore& l : classification_->labels)
      classList_->addItem(QStringLiteral("%1  %2").arg(percent(l.probability), QString::fromStdString(l.label)));
    if (classification_->documentTokens > classification_->tokensRead)
      classList_->addItem(QStringLiteral("(read the first %1 of %2 tokens)").arg(classification_->tokensRead).arg(classification_->documentTokens));
  }
  if (!answer_) {
    answerLabel_->clear();
  } else if (answer_->end <= answer_->begin) {
    answerLabel_->setText(QStringLiteral("No answer span found in the part of the document the model read."));
  } else {
    answerLabel_->setText(QStringLiteral("Answer (highlighted in green): “%1”, probability %2, score %3%4")
                              .arg(QString::fromStdString(answer_->text), percent(answer_->probability))
                              .arg(answer_->score, 0, 'f', 2)
                              .arg(answer_->documentTokens > answer_->tokensRead
                                       ? QStringLiteral(" (read the first %1 of %2 tokens)").arg(answer_->tokensRead).arg(answer_->documentTokens)
                                       : QString()));
  }
}

}  // namespace bb::ui::documents
