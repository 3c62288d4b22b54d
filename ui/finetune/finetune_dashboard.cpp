#include "ui/finetune/finetune_dashboard.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <cmath>
#include <filesystem>

#include "engine/backend/train_backend.h"
#include "engine/core/error.h"
#include "engine/core/xdg_dirs.h"
#include "engine/models/config.h"
#include "ui/compute_backend.h"
#include "ui/finetune/finetune_recipe.h"
#include "ui/finetune/run_outputs.h"
#include "ui/finetune/training_estimate.h"
#include "ui/text_utils.h"
#include "ui/finetune/training_plots_view.h"
#include "ui/imgui_widget.h"
#include "ui/task_manager.h"

namespace bb::ui {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QHBoxLayout* pathRow(QLineEdit* edit, QPushButton* browse) {
  auto* row = new QHBoxLayout;
  row->setContentsMargins(0, 0, 0, 0);
  row->addWidget(edit, 1);
  row->addWidget(browse);
  return row;
}

QString defaultOutDir(const QString& task) {
  return qs(xdg::app_data_dir()) + QStringLiteral("/runs/") + task + QLatin1Char('-') +
         QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
}

}  // namespace

FinetuneDashboard::FinetuneDashboard(TaskManager* tasks, QWidget* parent) : QWidget(parent), tasks_(tasks) {
  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(buildForm());
  split->addWidget(scroll);
  split->addWidget(buildRunPanel());
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(split);

  pollTimer_ = new QTimer(this);
  pollTimer_->setInterval(100);
  connect(pollTimer_, &QTimer::timeout, this, &FinetuneDashboard::poll);
  checkTimer_ = new QTimer(this);
  checkTimer_->setSingleShot(true);
  checkTimer_->setInterval(400);
  connect(checkTimer_, &QTimer::timeout, this, &FinetuneDashboard::checkDataset);
  if (tasks_)
    connect(tasks_, &TaskManager::taskFinished, this, [this](int id, const QString&, bool ok, const QString& error) {
      if (id != 0 && id == remoteTask_) remoteTaskFinished(ok, error);
    });
  applyRecipe();
  updateButtons();
}

FinetuneDashboard::~FinetuneDashboard() {
  *alive_ = false;
  if (tasks_) tasks_->cancelGroup(QStringLiteral("finetune-check"));
  if (tasks_ && remoteTask_) tasks_->cancel(remoteTask_);  // the task cancels the job on the runner
  job_.reset();  // cancels and joins: at most the current step
}

QWidget* FinetuneDashboard::buildForm() {
  auto* page = new QWidget;
  auto* v = new QVBoxLayout(page);

  auto* data = new QGroupBox(QStringLiteral("Task and data"));
  auto* f = new QFormLayout(data);
  task_ = new QComboBox;
  task_->addItem(QStringLiteral("Classification"), QStringLiteral("cls"));
  task_->addItem(QStringLiteral("Question answering (SQuAD)"), QStringLiteral("qa"));
  task_->addItem(QStringLiteral("Masked language modelling"), QStringLiteral("mlm"));
  task_->addItem(QStringLiteral("Summarization (BigBird-Pegasus)"), QStringLiteral("summarize"));
  f->addRow(QStringLiteral("Task"), task_);
  model_ = new QLineEdit;
  model_->setPlaceholderText(QStringLiteral("directory with config.json + model.safetensors"));
  auto* browseModel = new QPushButton(QStringLiteral("…"));
  f->addRow(QStringLiteral("Model"), pathRow(model_, browseModel));
  train_ = new QLineEdit;
  train_->setPlaceholderText(QStringLiteral("CSV / TSV / JSONL (cls), SQuAD JSON (qa), text (mlm)"));
  auto* browseTrain = new QPushButton(QStringLiteral("…"));
  f->addRow(QStringLiteral("Training data"), pathRow(train_, browseTrain));
  eval_ = new QLineEdit;
  eval_->setPlaceholderText(QStringLiteral("optional; else 10% of the training data is held out"));
  auto* browseEval = new QPushButton(QStringLiteral("…"));
  f->addRow(QStringLiteral("Evaluation data"), pathRow(eval_, browseEval));
  format_ = new QComboBox;
  for (const char* s : {"auto", "csv", "tsv", "jsonl"}) format_->addItem(QString::fromLatin1(s));
  textColumn_ = new QLineEdit(QStringLiteral("text"));
  labelColumn_ = new QLineEdit(QStringLiteral("label"));
  auto* cols = new QHBoxLayout;
  cols->addWidget(format_);
  cols->addWidget(new QLabel(QStringLiteral("text")));
  cols->addWidget(textColumn_);
  cols->addWidget(new QLabel(QStringLiteral("label")));
  cols->addWidget(labelColumn_);
  f->addRow(QStringLiteral("Table"), cols);
  out_ = new QLineEdit(defaultOutDir(QStringLiteral("cls")));
  auto* browseOut = new QPushButton(QStringLiteral("…"));
  f->addRow(QStringLiteral("Output"), pathRow(out_, browseOut));
  datasetLabel_ = new QLabel(QStringLiteral("Choose a model and a training file."));
  datasetLabel_->setWordWrap(true);
  datasetLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  f->addRow(datasetLabel_);
  preview_ = new QTableWidget;
  preview_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  preview_->setMinimumHeight(140);
  preview_->horizontalHeader()->setStretchLastSection(true);
  preview_->verticalHeader()->hide();
  f->addRow(preview_);
  v->addWidget(data);

  auto* hp = new QGroupBox(QStringLiteral("Hyper-parameters"));
  auto* h = new QFormLayout(hp);
  auto spin = [](int lo, int hi, const QString& special = {}) {
    auto* s = new QSpinBox;
    s->setRange(lo, hi);
    if (!special.isEmpty()) s->setSpecialValueText(special);
    return s;
  };
  maxLength_ = spin(16, 16384);
  maxLength_->setSingleStep(64);
  batch_ = spin(1, 512);
  accum_ = spin(1, 1024);
  epochs_ = new QDoubleSpinBox;
  epochs_->setRange(0.01, 1000);
  steps_ = spin(0, 10000000, QStringLiteral("from epochs"));
  lr_ = new QLineEdit;
  warmup_ = spin(-1, 10000000, QStringLiteral("recipe share"));
  schedule_ = new QComboBox;
  for (const char* s : {"linear", "polynomial", "constant", "constant-warmup", "tf-linear"}) schedule_->addItem(QString::fromLatin1(s));
  optimizer_ = new QComboBox;
  optimizer_->addItem(QStringLiteral("adam-weight-decay"));
  optimizer_->addItem(QStringLiteral("adamw"));
  weightDecay_ = new QDoubleSpinBox;
  weightDecay_->setRange(0, 1);
  weightDecay_->setDecimals(4);
  clip_ = new QDoubleSpinBox;
  clip_->setRange(0, 100);
  clip_->setSpecialValueText(QStringLiteral("no clipping"));
  attention_ = new QComboBox;
  attention_->addItem(QStringLiteral("the model's"), QString());
  attention_->addItem(QStringLiteral("block_sparse"), QStringLiteral("block_sparse"));
  attention_->addItem(QStringLiteral("original_full"), QStringLiteral("original_full"));
  checkpointing_ = new QCheckBox(QStringLiteral("gradient checkpointing (less memory, ~1/3 more compute)"));
  evalEvery_ = spin(0, 10000000, QStringLiteral("at the end"));
  saveEvery_ = spin(0, 10000000, QStringLiteral("at the end"));
  seed_ = spin(0, 1 << 30);
  seed_->setValue(42);
  h->addRow(QStringLiteral("Max length"), maxLength_);
  h->addRow(QStringLiteral("Batch size"), batch_);
  h->addRow(QStringLiteral("Gradient accumulation"), accum_);
  h->addRow(QStringLiteral("Epochs"), epochs_);
  h->addRow(QStringLiteral("Steps"), steps_);
  h->addRow(QStringLiteral("Learning rate"), lr_);
  h->addRow(QStringLiteral("Warmup steps"), warmup_);
  h->addRow(QStringLiteral("Schedule"), schedule_);
  h->addRow(QStringLiteral("Optimizer"), optimizer_);
  h->addRow(QStringLiteral("Weight decay"), weightDecay_);
  h->addRow(QStringLiteral("Max gradient norm"), clip_);
  h->addRow(QStringLiteral("Attention"), attention_);
  h->addRow(checkpointing_);
  h->addRow(QStringLiteral("Evaluate every"), evalEvery_);
  h->addRow(QStringLiteral("Checkpoint every"), saveEvery_);
  h->addRow(QStringLiteral("Seed"), seed_);
  backend_ = new QComboBox;
  // Local runs: the app's compute backend (Settings ▸ Compute Backend…), or the CPU whatever it is.
  backend_->addItem(QStringLiteral("This computer"), QStringLiteral("local"));
  backend_->addItem(QStringLiteral("This computer, CPU only"), QStringLiteral("cpu"));
  backend_->setItemData(1, QStringLiteral("Train on the CPU whatever the compute backend setting says"), Qt::ToolTipRole);
  auto localTip = [this] {
    backend_->setItemData(0, QStringLiteral("Training steps run on the compute backend chosen in Settings ▸ Compute Backend "
                                            "(now: %1); evaluation runs on the CPU")
                                 .arg(ComputeBackend::instance().selectionText()),
                          Qt::ToolTipRole);
  };
  localTip();
  connect(&ComputeBackend::instance(), &ComputeBackend::selectionChanged, this, localTip);
  setRunners({});
  h->addRow(QStringLiteral("Backend"), backend_);
  auto* recipe = new QPushButton(QStringLiteral("Recipe defaults"));
  h->addRow(recipe);
  estimateLabel_ = new QLabel;
  estimateLabel_->setWordWrap(true);
  h->addRow(estimateLabel_);
  v->addWidget(hp);
  v->addStretch(1);

  auto browse = [this](QLineEdit* edit, bool dir, const QString& title) {
    const QString p = dir ? QFileDialog::getExistingDirectory(this, title, edit->text())
                          : QFileDialog::getOpenFileName(this, title, QFileInfo(edit->text()).path());
    if (!p.isEmpty()) edit->setText(p);
  };
  connect(browseModel, &QPushButton::clicked, this, [this, browse] { browse(model_, true, QStringLiteral("Model directory")); });
  connect(browseTrain, &QPushButton::clicked, this, [this, browse] { browse(train_, false, QStringLiteral("Training data")); });
  connect(browseEval, &QPushButton::clicked, this, [this, browse] { browse(eval_, false, QStringLiteral("Evaluation data")); });
  connect(browseOut, &QPushButton::clicked, this, [this, browse] { browse(out_, true, QStringLiteral("Output directory")); });
  connect(recipe, &QPushButton::clicked, this, &FinetuneDashboard::applyRecipe);
  connect(task_, &QComboBox::currentIndexChanged, this, [this] {
    applyRecipe();
    if (!running()) out_->setText(defaultOutDir(task_->currentData().toString()));
    scheduleCheck();
  });
  for (QLineEdit* e : {model_, train_, eval_, textColumn_, labelColumn_})
    connect(e, &QLineEdit::textEdited, this, &FinetuneDashboard::scheduleCheck);
  connect(format_, &QComboBox::currentIndexChanged, this, &FinetuneDashboard::scheduleCheck);
  connect(maxLength_, &QSpinBox::editingFinished, this, &FinetuneDashboard::scheduleCheck);
  for (QSpinBox* s : {maxLength_, batch_, accum_, steps_})
    connect(s, &QSpinBox::valueChanged, this, &FinetuneDashboard::updateEstimate);
  connect(epochs_, &QDoubleSpinBox::valueChanged, this, &FinetuneDashboard::updateEstimate);
  connect(checkpointing_, &QCheckBox::toggled, this, &FinetuneDashboard::updateEstimate);
  return page;
}

QWidget* FinetuneDashboard::buildRunPanel() {
  auto* page = new QWidget;
  auto* v = new QVBoxLayout(page);
  auto* buttons = new QHBoxLayout;
  start_ = new QPushButton(QStringLiteral("Start"));
  pause_ = new QPushButton(QStringLiteral("Pause"));
  cancel_ = new QPushButton(QStringLiteral("Cancel"));
  resumeCkpt_ = new QPushButton(QStringLiteral("Resume from checkpoint"));
  resumeCkpt_->setToolTip(QStringLiteral("Continue the run in the output directory from its latest checkpoint, with the same settings"));
  for (QPushButton* b : {start_, pause_, cancel_, resumeCkpt_}) buttons->addWidget(b);
  buttons->addStretch(1);
  v->addLayout(buttons);
  statusLabel_ = new QLabel(QStringLiteral("Idle"));
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  errorLabel_ = new QLabel;
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet(QStringLiteral("color: #e06060"));
  errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  errorLabel_->hide();
  v->addWidget(statusLabel_);
  v->addWidget(progress_);
  v->addWidget(errorLabel_);

  if (ImGuiWidget::openGLAvailable()) {
    plotsWidget_ = new ImGuiWidget;
    plotsWidget_->setMinimumHeight(320);
    plots_ = plotsWidget_->addView<TrainingPlotsView>(series_);
    v->addWidget(plotsWidget_, 3);
  } else {
    v->addWidget(new QLabel(QStringLiteral("The plots need OpenGL 3.3; the numbers are in the log below.")));
  }

  auto* lower = new QHBoxLayout;
  auto* ck = new QVBoxLayout;
  ck->addWidget(new QLabel(QStringLiteral("Checkpoints")));
  checkpoints_ = new QTreeWidget;
  checkpoints_->setHeaderLabels({QStringLiteral("checkpoint"), QStringLiteral("step"), QStringLiteral("size")});
  checkpoints_->setRootIsDecorated(false);
  ck->addWidget(checkpoints_);
  export_ = new QPushButton(QStringLiteral("Export as HF safetensors…"));
  export_->setToolTip(QStringLiteral("Write config.json + model.safetensors + tokenizer of the selected checkpoint or final model"));
  ck->addWidget(export_);
  lower->addLayout(ck, 2);
  log_ = new QPlainTextEdit;
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(2000);
  lower->addWidget(log_, 3);
  v->addLayout(lower, 2);

  connect(start_, &QPushButton::clicked, this, &FinetuneDashboard::start);
  connect(pause_, &QPushButton::clicked, this, [this] {
    if (state() == jobs::JobState::Paused)
      resume();
    else
      pause();
  });
  connect(cancel_, &QPushButton::clicked, this, &FinetuneDashboard::cancel);
  connect(resumeCkpt_, &QPushButton::clicked, this, &FinetuneDashboard::resumeFromCheckpoint);
  connect(export_, &QPushButton::clicked, this, &FinetuneDashboard::exportSelected);
  return page;
}

void FinetuneDashboard::setTask(train::Task task) {
  const int i = task_->findData(qs(train::to_string(task)));
  if (i >= 0) task_->setCurrentIndex(i);
}
void FinetuneDashboard::setModelDir(const QString& dir) {
  model_->setText(dir);
  applyRecipe();
  scheduleCheck();
}
QString FinetuneDashboard::modelDir() const { return model_->text(); }
void FinetuneDashboard::setTrainFile(const QString& path) {
  train_->setText(path);
  scheduleCheck();
}
void FinetuneDashboard::setOutDir(const QString& dir) {
  out_->setText(dir);
  refreshCheckpoints();
}

void FinetuneDashboard::applyRecipe() {
  const train::Task task = train::parse_task(task_->currentData().toString().toStdString());
  std::optional<ModelConfig> model;
  try {
    if (!model_->text().isEmpty()) model = load_config(model_->text().toStdString() + "/config.json");
  } catch (const Error&) {
  }
  const FinetuneRecipe r = recipeFor(task, model ? &*model : nullptr);
  maxLength_->setValue(int(r.max_length));
  batch_->setValue(int(r.batch_size));
  accum_->setValue(int(r.grad_accum));
  epochs_->setValue(r.epochs);
  steps_->setValue(0);
  lr_->setText(QString::number(r.lr, 'g', 4));
  warmup_->setValue(-1);
  warmupShare_ = r.warmup_share;
  schedule_->setCurrentText(qs(train::to_string(r.schedule)));
  optimizer_->setCurrentText(qs(train::to_string(r.optimizer)));
  weightDecay_->setValue(r.weight_decay);
  clip_->setValue(r.max_grad_norm);
  const QString why = qs(r.source);
  for (QWidget* w : {static_cast<QWidget*>(maxLength_), static_cast<QWidget*>(batch_), static_cast<QWidget*>(lr_),
                     static_cast<QWidget*>(optimizer_), static_cast<QWidget*>(schedule_)})
    w->setToolTip(QStringLiteral("Default: ") + why);
  updateEstimate();
}

train::TrainerConfig FinetuneDashboard::trainerConfig(bool resume) const {
  train::TrainerConfig c;
  c.task = train::parse_task(task_->currentData().toString().toStdString());
  c.model_dir = model_->text().trimmed().toStdString();
  c.train_file = train_->text().trimmed().toStdString();
  c.eval_file = eval_->text().trimmed().toStdString();
  c.out_dir = out_->text().trimmed().toStdString();
  c.format = train::parse_table_format(format_->currentText().toStdString());
  c.text_column = textColumn_->text().trimmed().toStdString();
  c.label_column = labelColumn_->text().trimmed().toStdString();
  c.max_length = maxLength_->value();
  c.batch_size = batch_->value();
  c.grad_accum = accum_->value();
  c.epochs = epochs_->value();
  c.max_steps = steps_->value();
  bool ok = false;
  c.schedule.lr = lr_->text().trimmed().toDouble(&ok);
  if (!ok || !(c.schedule.lr > 0) || !std::isfinite(c.schedule.lr))
    throw Error("learning rate \"" + lr_->text().toStdString() + "\": not a positive number");
  c.schedule.kind = train::parse_schedule(schedule_->currentText().toStdString());
  c.optimizer.kind = train::parse_optimizer(optimizer_->currentText().toStdString());
  c.optimizer.weight_decay = weightDecay_->value();
  c.max_grad_norm = clip_->value();
  c.gradient_checkpointing = checkpointing_->isChecked();
  const QString attention = attention_->currentData().toString();
  if (!attention.isEmpty()) c.attention_type = attn::parse_attention_type(attention.toStdString());
  c.eval_every = evalEvery_->value();
  c.save_every = saveEvery_->value();
  c.seed = uint64_t(seed_->value());
  c.resume = resume;
  if (warmup_->value() >= 0) {
    c.schedule.warmup_steps = warmup_->value();
  } else if (warmupShare_ > 0) {
    // The recipe's share of the run; the step count follows the trainer's formula.
    int64_t total = c.max_steps;
    if (total <= 0 && check_.ok() && check_.trainExamples > 0) {
      const int64_t per_epoch = (check_.trainExamples + c.batch_size - 1) / c.batch_size;
      total = std::max<int64_t>(1, int64_t(std::ceil(c.epochs * double(per_epoch) / double(c.grad_accum))));
    }
    c.schedule.warmup_steps = warmupSteps(warmupShare_, total);
  }
  if (c.model_dir.empty()) throw Error("choose a model directory");
  if (c.train_file.empty()) throw Error("choose a training file");
  if (c.out_dir.empty()) throw Error("choose an output directory");
  return c;
}

void FinetuneDashboard::scheduleCheck() {
  checked_ = false;
  checkTimer_->start();
}

void FinetuneDashboard::checkDataset() {
  checkTimer_->stop();
  train::TrainerConfig c;
  try {
    c = trainerConfig(false);
  } catch (const Error& e) {
    check_ = DatasetCheck{};
    check_.error = e.what();
    datasetLabel_->setText(qs(check_.error));
    emit datasetChecked(false);
    return;
  }
  datasetLabel_->setText(QStringLiteral("Checking %1…").arg(train_->text()));
  tasks_->submit(QStringLiteral("finetune-check"), QStringLiteral("Checking the dataset"),
                 [this, c, alive = alive_](TaskContext&) -> TaskManager::Finish {
                   DatasetCheck r = bb::ui::checkDataset(c);
                   return [this, r = std::move(r), alive] {
                     if (!*alive) return;
                     check_ = r;
                     checked_ = true;
                     preview_->clear();
                     preview_->setColumnCount(int(r.columns.size()));
                     preview_->setRowCount(int(r.rows.size()));
                     QStringList header;
                     for (const std::string& col : r.columns) header << qs(col);
                     preview_->setHorizontalHeaderLabels(header);
                     for (size_t i = 0; i < r.rows.size(); ++i)
                       for (size_t j = 0; j < r.rows[i].size(); ++j)
                         preview_->setItem(int(i), int(j), new QTableWidgetItem(qs(r.rows[i][j])));
                     if (r.ok()) {
                       QString labels;
                       for (const std::string& l : r.labels) labels += (labels.isEmpty() ? "" : ", ") + qs(l);
                       datasetLabel_->setStyleSheet(QString());
                       datasetLabel_->setText(QStringLiteral("%1 training / %2 evaluation examples, %3 tokens on average%4")
                                                  .arg(r.trainExamples)
                                                  .arg(r.evalExamples)
                                                  .arg(r.meanTokens, 0, 'f', 0)
                                                  .arg(labels.isEmpty() ? QString() : QStringLiteral("; labels: ") + labels));
                     } else {
                       datasetLabel_->setStyleSheet(QStringLiteral("color: #e06060"));
                       datasetLabel_->setText(qs(r.error));
                     }
                     updateEstimate();
                     emit datasetChecked(r.ok());
                   };
                 });
}

QString FinetuneDashboard::datasetMessage() const { return datasetLabel_->text(); }
QString FinetuneDashboard::estimateText() const { return estimateLabel_->text(); }

void FinetuneDashboard::updateEstimate() {
  if (!checked_ || !check_.ok()) {
    estimateLabel_->setText(QStringLiteral("Estimate: after the dataset check."));
    return;
  }
  try {
    const train::TrainerConfig c = trainerConfig(false);
    if (c.task == train::Task::Summarization) {
      estimateLabel_->setText(QStringLiteral("Estimate: not available for summarization yet (the cost model counts encoders only)."));
      return;
    }
    const ModelConfig m = load_config(c.model_dir + "/config.json");
    const TrainingEstimate e = estimateTraining(m, c, check_.trainExamples, check_.meanTokens, 0);
    estimateLabel_->setText(QStringLiteral("Estimate: ") + qs(e.text));
  } catch (const Error& e) {
    estimateLabel_->setText(QStringLiteral("Estimate unavailable: ") + qs(e.what()));
  }
}

bool FinetuneDashboard::start() { return launch(false); }
bool FinetuneDashboard::resumeFromCheckpoint() { return launch(true); }

bool FinetuneDashboard::launch(bool resume) {
  if (running()) {
    showError(QStringLiteral("A run is in progress: pause or cancel it first."));
    return false;
  }
  train::TrainerConfig c;
  try {
    c = trainerConfig(resume);
  } catch (const Error& e) {
    showError(qs(e.what()));
    return false;
  }
  // Resuming the run this dashboard started: exactly its settings (the trainer refuses others),
  // even where an automatic value (the warmup share) would now come out differently.
  if (resume && lastRun_ && lastRun_->out_dir == c.out_dir) {
    c = *lastRun_;
    c.resume = true;
  }
  const int backend = backend_->currentIndex() - 2;  // this computer, CPU only, then the runners
  if (backend >= 0 && backend < int(runners_.size())) {
    if (resume) {
      showError(QStringLiteral("Resuming from a checkpoint runs on this computer only; choose \"This computer\"."));
      return false;
    }
    return launchRemote(c, runners_[size_t(backend)]);
  }
  if (!resume) lastRun_ = c;
  remoteState_.reset();
  job_.reset();  // a finished job: joins at once
  lastError_.clear();
  errorLabel_->hide();
  if (!resume) series_->clear();
  log_->appendPlainText(QStringLiteral("%1 %2 → %3").arg(resume ? QStringLiteral("Resuming") : QStringLiteral("Starting"),
                                                         train_->text(), out_->text()));
  const backend::Selection sel = backend_->currentData().toString() == QStringLiteral("local")
                                     ? ComputeBackend::instance().selection()
                                     : backend::Selection{};
  if (c.task == train::Task::Summarization)
    backend::cpu_only(sel.kind, "BigBird-Pegasus training (forward + backward)");
  else if (c.eval_only)
    backend::cpu_only(sel.kind, "evaluation-only fine-tuning runs");
  else if (sel.kind != backend::Kind::Cpu)  // training steps on the chosen backend; evaluation on the CPU
    c.make_step_runner = [sel] { return backend::make_train_step_runner(sel); };
  ranOn_.clear();
  job_ = jobs::TrainingJob::start(c);
  pollTimer_->start();
  statusLabel_->setText(QStringLiteral("Loading the model and the data…"));
  updateButtons();
  return true;
}

void FinetuneDashboard::pause() {
  if (!running() || !job_) return;
  job_->pause();
  statusLabel_->setText(QStringLiteral("Pausing after the current step…"));
}
void FinetuneDashboard::resume() {
  if (running() && job_) job_->resume();
}
void FinetuneDashboard::cancel() {
  if (!running()) return;
  if (remoteTask_) {
    tasks_->cancel(remoteTask_);
    statusLabel_->setText(QStringLiteral("Cancelling the job on the runner…"));
    return;
  }
  job_->cancel();
  statusLabel_->setText(QStringLiteral("Stopping after the current step…"));
}

std::optional<jobs::JobState> FinetuneDashboard::state() const {
  if (remoteTask_) return jobs::JobState::Running;
  if (remoteState_) return remoteState_;
  if (!job_) return std::nullopt;
  return job_->state();
}
QString FinetuneDashboard::errorText() const { return lastError_; }
QString FinetuneDashboard::statusText() const { return statusLabel_->text(); }

void FinetuneDashboard::showError(const QString& text) {
  lastError_ = text;
  errorLabel_->setText(text);
  errorLabel_->setVisible(!text.isEmpty());
}

void FinetuneDashboard::poll() {
  if (!job_) {
    pollTimer_->stop();
    return;
  }
  const bool done = job_->done();  // read before draining, so no event is left behind
  bool changed = false;
  for (const train::TrainingEvent& e : job_->poll()) {
    handle(e);
    changed = true;
  }
  if (changed && plotsWidget_) plotsWidget_->requestFrames(2);
  if (done) {
    pollTimer_->stop();
    const jobs::JobState s = job_->state();
    if (s == jobs::JobState::Failed) showError(qs(job_->error()));
    refreshCheckpoints();
    updateButtons();
    emit jobFinished(int(s));
  } else if (changed) {
    updateButtons();
  }
}

void FinetuneDashboard::handle(const train::TrainingEvent& e) {
  using K = train::TrainingEvent::Kind;
  if (e.kind == K::Started) series_->truncateAfter(e.step);  // a resumed run redraws from its checkpoint
  series_->add(e);
  if (e.total_steps > 0) progress_->setValue(int(1000.0 * double(e.step) / double(e.total_steps)));
  switch (e.kind) {
    case K::Step:
      if (!e.message.empty() && e.message != ranOn_) {  // where the steps run: said once, and on every change
        ranOn_ = e.message;
        ComputeBackend::instance().reportUsed(ranOn_);
        log_->appendPlainText(QStringLiteral("training steps run on ") + describeUsed(ranOn_));
      }
      statusLabel_->setText(QStringLiteral("Step %1 / %2 · loss %3 · lr %4 · %5 tokens/s · %6 · ETA %7")
                                .arg(e.step)
                                .arg(e.total_steps)
                                .arg(e.loss, 0, 'f', 4)
                                .arg(e.lr, 0, 'g', 3)
                                .arg(e.tokens_per_s, 0, 'f', 0)
                                .arg(qs(formatBytes(double(e.rss_bytes))))
                                .arg(qs(formatRunTime(e.eta_s))));
      break;
    case K::Eval: {
      QString line = QStringLiteral("eval at step %1:").arg(e.step);
      for (const auto& [k, v] : e.metrics) line += QStringLiteral(" %1 %2").arg(qs(k)).arg(v, 0, 'f', 4);
      log_->appendPlainText(line);
      break;
    }
    case K::Checkpoint:
      log_->appendPlainText(QStringLiteral("checkpoint %1").arg(qs(e.message)));
      refreshCheckpoints();
      break;
    case K::Paused:
      statusLabel_->setText(QStringLiteral("Paused at step %1 / %2").arg(e.step).arg(e.total_steps));
      log_->appendPlainText(statusLabel_->text());
      break;
    case K::Failed:
      statusLabel_->setText(QStringLiteral("Failed"));
      log_->appendPlainText(QStringLiteral("failed: ") + qs(e.message));
      break;
    default:
      log_->appendPlainText(qs(train::to_string(e.kind)) + (e.message.empty() ? QString() : QStringLiteral(": ") + qs(e.message)));
      if (e.kind == K::Finished || e.kind == K::Cancelled)
        statusLabel_->setText(qs(train::to_string(e.kind)) + QStringLiteral(" at step %1 / %2").arg(e.step).arg(e.total_steps));
      break;
  }
  emit jobEvent(int(e.kind));
}

void FinetuneDashboard::updateButtons() {
  const bool run = running();
  const bool paused = run && job_ && job_->state() == jobs::JobState::Paused;
  start_->setEnabled(!run);
  pause_->setEnabled(run && !remoteTask_);  // a runner's job cannot pause
  pause_->setText(paused ? QStringLiteral("Resume") : QStringLiteral("Pause"));
  cancel_->setEnabled(run);
  resumeCkpt_->setEnabled(!run && !listCheckpoints(out_->text().toStdString()).empty());
  export_->setEnabled(checkpoints_->topLevelItemCount() > 0);
}

void FinetuneDashboard::refreshCheckpoints() {
  checkpoints_->clear();
  const std::string out = out_->text().trimmed().toStdString();
  for (const CheckpointInfo& c : listCheckpoints(out)) {
    auto* item = new QTreeWidgetItem({qs(c.name) + (c.latest ? QStringLiteral(" (latest)") : QString()),
                                      QString::number(c.step), qs(formatBytes(double(c.bytes)))});
    item->setData(0, Qt::UserRole, qs(c.dir));
    checkpoints_->addTopLevelItem(item);
  }
  const std::filesystem::path final_model = std::filesystem::path(out) / "model";
  if (std::filesystem::exists(final_model / "model.safetensors")) {
    auto* item = new QTreeWidgetItem({QStringLiteral("final model"), QString(), QString()});
    item->setData(0, Qt::UserRole, qs(final_model.string()));
    checkpoints_->addTopLevelItem(item);
  }
  for (int i = 0; i < checkpoints_->columnCount(); ++i) checkpoints_->resizeColumnToContents(i);
  updateButtons();
}

void FinetuneDashboard::exportTo(const QString& sourceDir, const QString& dst) {
  const train::TrainerConfig c = trainerConfig(false);
  const ModelConfig m = load_config(c.model_dir + "/config.json");
  exportModelDir(sourceDir.toStdString(), dst.toStdString(), train::resolve_tokenizer(c, m.vocab_size));
  log_->appendPlainText(QStringLiteral("exported %1 → %2").arg(sourceDir, dst));
  emit modelExported(dst);
}

void FinetuneDashboard::exportSelected() {
  QTreeWidgetItem* item = checkpoints_->currentItem();
  if (!item) item = checkpoints_->topLevelItem(checkpoints_->topLevelItemCount() - 1);
  if (!item) return;
  const QString src = item->data(0, Qt::UserRole).toString();
  const QString name = QFileInfo(out_->text()).fileName() + QLatin1Char('-') + QFileInfo(src).fileName();
  const QString models = qs(xdg::app_data_dir()) + QStringLiteral("/models");
  QDir().mkpath(models);
  const QString parent = QFileDialog::getExistingDirectory(this, QStringLiteral("Export %1 into").arg(name), models);
  if (parent.isEmpty()) return;
  try {
    exportTo(src, QDir(parent).filePath(name));
  } catch (const Error& e) {
    showError(qs(e.what()));
  }
}

}  // namespace bb::ui
