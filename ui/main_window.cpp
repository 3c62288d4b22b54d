#include "ui/main_window.h"

#include <imgui.h>

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/models/config.h"
#include "ui/backend_status_label.h"
#include "ui/compute_backend.h"
#include "ui/compute_backend_dialog.h"
#include "ui/cost_view.h"
#include "ui/document_view.h"
#include "ui/documents/documents_dock.h"
#include "ui/documents/documents_panel.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/models/model_manager.h"
#include "ui/remote/remote_panel.h"
#include "ui/error_report.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/lab_session.h"
#include "ui/mask_view.h"
#include "ui/pattern_grid_view.h"
#include "ui/pattern_render.h"
#include "ui/sparse_full_view.h"
#include "ui/task_manager.h"
#include "ui/token_view.h"
#include "ui/tour_view.h"

namespace bb::ui {

namespace {

constexpr int kLayoutVersion = 2;  // bump when the set of docks changes

void writeText(const QString& path, const std::string& text) {
  bb::io::write_file_atomic(path.toStdString(),
                            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

MainWindow::MainWindow(const MaskConfig& pattern, QWidget* parent) : QMainWindow(parent) {
  LabOptions o;
  o.pattern = pattern;
  o.useSettings = false;
  o.autoLoadModel = false;
  build(o);
}

MainWindow::MainWindow(const LabOptions& options, QWidget* parent) : QMainWindow(parent) { build(options); }

MainWindow::~MainWindow() {
  useSettings_ = false;  // tearing down the docks is not a change of the user's session
  if (saveTimer_) saveTimer_->stop();
  if (tasks_) tasks_->cancelAll();
  // Views (inside the docks) refer to the session: delete them before the session and the tasks.
  for (auto& [id, d] : docks_) delete d;
  docks_.clear();
  widgets_.clear();
  delete session_;
  delete tasks_;
}

void MainWindow::build(const LabOptions& options) {
  setWindowTitle(QStringLiteral("BigBird Studio"));
  useSettings_ = options.useSettings;
  rendererLabel_ = new QLabel(this);
  rendererLabel_->setContentsMargins(8, 0, 8, 0);

  QString why;
  if (!ImGuiWidget::openGLAvailable(&why)) {
    auto* placeholder = new QLabel(this);
    placeholder->setAlignment(Qt::AlignCenter);
    placeholder->setWordWrap(true);
    placeholder->setTextFormat(Qt::RichText);
    placeholder->setText(QStringLiteral("<h2>The attention views need OpenGL 3.3</h2>"
                                        "<p>OpenGL is not available: %1.</p>"
                                        "<p>Run BigBird Studio on an X11 or Wayland desktop, or under "
                                        "<code>xvfb-run -a</code>. The <code>bigbird</code> command line works "
                                        "without a display.</p>")
                             .arg(why.toHtmlEscaped()));
    setCentralWidget(placeholder);
    rendererLabel_->setText(QStringLiteral("OpenGL unavailable"));
    statusBar()->addPermanentWidget(rendererLabel_);
    createMenus();
    return;
  }

  tasks_ = new TaskManager();
  session_ = new LabSession(tasks_);
  setDockNestingEnabled(true);
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks | QMainWindow::AllowNestedDocks);
  setTabPosition(Qt::AllDockWidgetAreas, QTabWidget::North);

  ImGuiWidget* w = addPanel(kPattern, QStringLiteral("Pattern"), QStringLiteral("Ctrl+1"));
  maskView_ = w->addView<MaskView>(options.pattern);
  w = addPanel(kLayers, QStringLiteral("Layers × heads"), QStringLiteral("Ctrl+2"));
  gridView_ = w->addView<PatternGridView>();
  w = addPanel(kDocument, QStringLiteral("Document attention"), QStringLiteral("Ctrl+3"));
  documentView_ = w->addView<DocumentView>(session_);
  w = addPanel(kCompare, QStringLiteral("Sparse vs full"), QStringLiteral("Ctrl+4"));
  sparseView_ = w->addView<SparseFullView>(session_);
  w = addPanel(kCost, QStringLiteral("Cost calculator"), QStringLiteral("Ctrl+5"));
  costView_ = w->addView<CostView>(session_);
  w = addPanel(kText, QStringLiteral("Document text"), QStringLiteral("Ctrl+6"));
  tokenView_ = w->addView<TokenView>(session_);
  w = addPanel(kTour, QStringLiteral("Tour"), QStringLiteral("Ctrl+7"));
  tourView_ = w->addView<TourView>(loadTourSteps());
  docks_[kDocuments] = documents::createDocumentsDock(this, kDocuments, tasks_, session_, options.useSettings, &documentsPanel_);
  connect(documentsPanel_, &documents::DocumentsPanel::showInLabRequested, this, [this] {
    showDock(kText);
    showDock(kDocument);
  });
  connect(documentsPanel_, &documents::DocumentsPanel::message, this,
          [this](const QString& text, bool error) { statusBar()->showMessage(text, error ? 12000 : 5000); });
  connect(this, &MainWindow::currentModelChanged, documentsPanel_, &documents::DocumentsPanel::offerModel);
  active_ = widgetOf(kPattern);
  addModelDocks();

  defaultLayout();
  connectViews();
  createMenus();
  createStatusBar();
  connect(widgetOf(kPattern), &ImGuiWidget::glInitialized, this,
          [this](const QString& renderer) { rendererLabel_->setText(QStringLiteral("OpenGL: ") + renderer); });
  restoreSettings(options);
  watchSessionChanges();
  statusBar()->showMessage(QStringLiteral("Ready"), 3000);
}

ImGuiWidget* MainWindow::addPanel(const char* id, const QString& title, const QString& shortcut) {
  auto* widget = new ImGuiWidget();
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(QString::fromLatin1(id));
  dock->setWidget(widget);
  dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
  dock->toggleViewAction()->setShortcut(QKeySequence(shortcut));
  docks_[id] = dock;
  widgets_[id] = widget;
  // Whatever the user clicks or focuses last is what File > Export acts on.
  connect(widget, &ImGuiWidget::frameRendered, this, [this, widget] {
    if (widget->hasFocus()) active_ = widget;
  });
  return widget;
}

ImGuiWidget* MainWindow::widgetOf(const char* id) const {
  const auto it = widgets_.find(id);
  return it == widgets_.end() ? nullptr : it->second;
}

QDockWidget* MainWindow::dock(const char* id) const {
  const auto it = docks_.find(id);
  return it == docks_.end() ? nullptr : it->second;
}

void MainWindow::showDock(const char* id) {
  if (QDockWidget* d = dock(id)) {
    d->show();
    d->raise();
    if (ImGuiWidget* w = widgetOf(id)) {
      w->requestFrames();
      active_ = w;
    }
  }
}

void MainWindow::defaultLayout() {
  // Left: the large views as tabs; right: the document text and the tour.
  for (const char* id : {kPattern, kLayers, kDocument, kCompare, kCost, kDocuments}) addDockWidget(Qt::LeftDockWidgetArea, dock(id));
  for (const char* id : {kLayers, kDocument, kCompare, kCost, kDocuments}) tabifyDockWidget(dock(kPattern), dock(id));
  addDockWidget(Qt::RightDockWidgetArea, dock(kText));
  addDockWidget(Qt::RightDockWidgetArea, dock(kTour));
  tabifyDockWidget(dock(kText), dock(kTour));
  for (const char* id : {kFinetune, kModels, kRemote})
    if (dock(id)) {
      addDockWidget(Qt::LeftDockWidgetArea, dock(id));
      tabifyDockWidget(dock(kPattern), dock(id));
    }
  resizeDocks({dock(kPattern), dock(kText)}, {940, 460}, Qt::Horizontal);
  for (auto& [id, d] : docks_) d->show();
  dock(kPattern)->raise();
  dock(kText)->raise();
}

void MainWindow::requestAllFrames() {
  for (auto& [id, w] : widgets_)
    if (w->isVisible()) w->requestFrames(3);
}

void MainWindow::connectViews() {
  connect(session_, &LabSession::changed, this, &MainWindow::requestAllFrames);
  // Progress needs no extra frames: views showing a task animate on their own (at 10 fps).
  connect(tasks_, &TaskManager::taskFinished, this, &MainWindow::requestAllFrames);
  connect(session_, &LabSession::message, this, [this](const QString& text, bool error) {
    statusBar()->showMessage(text, error ? 12000 : 5000);
  });
  auto syncGrid = [this] {
    const int layers = session_->model() ? session_->model()->config().num_hidden_layers : 12;
    gridView_->setConfig(maskView_->config(), layers);
    gridView_->setCurrent(maskView_->config().layer, maskView_->config().head);
    statusBar()->showMessage(QString::fromStdString(maskView_->summary()), 4000);
    widgetOf(kPattern)->requestFrames();
    widgetOf(kLayers)->requestFrames();
    scheduleSave();
  };
  maskView_->setOnChange(syncGrid);
  syncGrid();
  gridView_->setOnPick([this](int layer, int head) {
    MaskConfig c = maskView_->config();
    c.layer = std::min(layer, mask_limits::kMaxLayer);
    c.head = head;
    maskView_->setConfig(c);
    showDock(kPattern);
  });
  // A loaded model's shape becomes the pattern's (block, r, heads, position limit, length).
  connect(session_, &LabSession::modelChanged, this, [this] {
    const bb::ModelConfig& m = session_->model()->config();
    MaskConfig c = maskView_->config();
    c.block = m.block_size;
    c.num_random = m.num_random_blocks;
    c.heads = m.num_attention_heads;
    c.head = std::min(c.head, c.heads - 1);
    c.layer = std::min(c.layer, m.num_hidden_layers - 1);
    c.max_position_embeddings = m.max_position_embeddings;
    c.configured = m.attention_type;
    try {
      maskView_->setConfig(c);
    } catch (const bb::Error&) {
    }
  });
  connect(session_, &LabSession::documentChanged, this, [this] {
    MaskConfig c = maskView_->config();
    c.seq_len = std::max<int64_t>(1, session_->document()->tokens());
    try {
      maskView_->setConfig(c);
    } catch (const bb::Error&) {
    }
  });
  tourView_->setOnApply([this](const TourStep& s, const MaskConfig& cfg) {
    MaskConfig c = cfg;
    try {
      maskView_->setConfig(c);
    } catch (const bb::Error&) {
      return;
    }
    maskView_->setVisibleKinds(s.kinds);
    maskView_->setFocusQueryBlock(s.focusQuery);
    maskView_->setCaption(s.caption);
    maskView_->resetZoom();
    showDock(kPattern);
    widgetOf(kTour)->requestFrames();
  });
  // Leaving the tour restores the full pattern.
  connect(dock(kTour), &QDockWidget::visibilityChanged, this, [this](bool visible) {
    if (visible) {
      tourView_->reapply();
      return;
    }
    maskView_->setVisibleKinds(kShowAll);
    maskView_->setFocusQueryBlock(-1);
    maskView_->setCaption({});
  });
}

void MainWindow::createStatusBar() {
  taskLabel_ = new QLabel(this);
  taskProgress_ = new QProgressBar(this);
  taskProgress_->setRange(0, 1000);
  taskProgress_->setMaximumWidth(180);
  taskProgress_->setTextVisible(false);
  taskCancel_ = new QToolButton(this);
  taskCancel_->setText(QStringLiteral("Cancel"));
  taskCancel_->setToolTip(QStringLiteral("Cancel the running task (Ctrl+.)"));
  for (QWidget* w : {static_cast<QWidget*>(taskLabel_), static_cast<QWidget*>(taskProgress_), static_cast<QWidget*>(taskCancel_)}) {
    statusBar()->addPermanentWidget(w);
    w->hide();
  }
  auto* backendLabel = new BackendStatusLabel(this);
  statusBar()->addPermanentWidget(backendLabel);
  connect(backendLabel, &BackendStatusLabel::clicked, this, &MainWindow::showComputeBackendDialog);
  // Fallback notices ("vulkan backend unavailable (...); running on the CPU") are never silent.
  connect(backendLabel, &BackendStatusLabel::notice, this, [this](const QString& line) { statusBar()->showMessage(line, 15000); });
  statusBar()->addPermanentWidget(rendererLabel_);
  connect(taskCancel_, &QToolButton::clicked, this, [this] { tasks_->cancelAll(); });
  auto refresh = [this] {
    const TaskManager::Status s = tasks_->status();
    const bool busy = s.id != 0;
    taskLabel_->setVisible(busy);
    taskProgress_->setVisible(busy);
    taskCancel_->setVisible(busy);
    if (busy) {
      taskLabel_->setText(s.title + (s.detail.isEmpty() ? QString() : QStringLiteral(": ") + s.detail) +
                          (s.queued ? QStringLiteral(" (+%1 queued)").arg(s.queued) : QString()));
      taskProgress_->setValue(int(s.progress * 1000));
    }
  };
  connect(tasks_, &TaskManager::taskStarted, this, refresh);
  connect(tasks_, &TaskManager::taskProgress, this, refresh);
  connect(tasks_, &TaskManager::taskFinished, this, refresh);
}

void MainWindow::createMenus() {
  const bool gl = session_ != nullptr;
  QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
  QAction* open = file->addAction(QStringLiteral("&Open Document…"), this, &MainWindow::openDocumentDialog);
  open->setShortcut(QKeySequence::Open);
  if (documentsPanel_) documents::addDocumentMenuEntries(file, documentsPanel_);
  QMenu* samples = file->addMenu(QStringLiteral("Open &Sample"));
  const QDir sampleDir(samplesDir());
  for (const QString& name : sampleDir.entryList({QStringLiteral("*.txt")}, QDir::Files, QDir::Name))
    samples->addAction(name, this, [this, path = sampleDir.filePath(name)] { openDocument(path); });
  QAction* model = file->addAction(QStringLiteral("&Load Model…"), this, &MainWindow::loadModelDialog);
  model->setShortcut(QKeySequence(QStringLiteral("Ctrl+L")));
  QAction* bundled = file->addAction(QStringLiteral("Load the &Bundled Model"), this, [this] { loadModel(defaultModelDir()); });
  file->addSeparator();
  QAction* png = file->addAction(QStringLiteral("&Export View as PNG…"), this, [this] { exportDialog(QStringLiteral("png")); });
  png->setShortcut(QKeySequence(QStringLiteral("Ctrl+E")));
  QAction* svg = file->addAction(QStringLiteral("Export View as S&VG…"), this, [this] { exportDialog(QStringLiteral("svg")); });
  svg->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+E")));
  QAction* csv = file->addAction(QStringLiteral("Export Data as &CSV…"), this, [this] { exportDialog(QStringLiteral("csv")); });
  csv->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+C")));
  QAction* json = file->addAction(QStringLiteral("Export Data as &JSON…"), this, [this] { exportDialog(QStringLiteral("json")); });
  json->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+J")));
  file->addSeparator();
  QAction* quit = file->addAction(QStringLiteral("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  quit->setMenuRole(QAction::QuitRole);
  for (QAction* a : {open, model, bundled, png, svg, csv, json}) a->setEnabled(gl);
  samples->setEnabled(gl);

  QMenu* view = menuBar()->addMenu(QStringLiteral("&View"));
  for (const char* id : {kPattern, kLayers, kDocument, kCompare, kCost, kText, kTour, kDocuments})
    if (QDockWidget* d = dock(id)) view->addAction(d->toggleViewAction());
  for (const char* id : {kFinetune, kModels, kRemote})
    if (QDockWidget* d = dock(id)) view->addAction(d->toggleViewAction());
  view->addSeparator();
  QAction* fit = view->addAction(QStringLiteral("&Fit Grid to Window"), this, [this] {
    maskView_->resetZoom();
    widgetOf(kPattern)->requestFrames();
  });
  fit->setShortcut(QKeySequence(QStringLiteral("Ctrl+0")));
  QAction* reset = view->addAction(QStringLiteral("&Reset Pattern Settings"), this, [this] {
    maskView_->setConfig(MaskConfig{});
    maskView_->resetZoom();
  });
  QAction* layout = view->addAction(QStringLiteral("Reset &Layout"), this, &MainWindow::defaultLayout);
  layout->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+R")));
  QAction* bigger = view->addAction(QStringLiteral("&Larger Interface"), this, [this] { setUiScale(uiScale_ * 1.125f); });
  bigger->setShortcut(QKeySequence(QStringLiteral("Ctrl+=")));
  QAction* smaller = view->addAction(QStringLiteral("&Smaller Interface"), this, [this] { setUiScale(uiScale_ / 1.125f); });
  smaller->setShortcut(QKeySequence(QStringLiteral("Ctrl+-")));
  QAction* normal = view->addAction(QStringLiteral("&Normal Interface Size"), this, [this] { setUiScale(1.0f); });
  view->addSeparator();
  QAction* metrics = view->addAction(QStringLiteral("Dear ImGui &Metrics"));
  metrics->setCheckable(true);
  connect(metrics, &QAction::toggled, this, [this](bool on) {
    if (active_) active_->setShowMetrics(on);
  });
  for (QAction* a : {fit, reset, layout, bigger, smaller, normal, metrics}) a->setEnabled(gl);

  QMenu* run = menuBar()->addMenu(QStringLiteral("&Run"));
  QAction* attention = run->addAction(QStringLiteral("Run &Attention on the Document"), this, [this] {
    session_->runAttention();
    showDock(kDocument);
  });
  attention->setShortcut(QKeySequence(QStringLiteral("F5")));
  QAction* compare = run->addAction(QStringLiteral("&Compare Sparse and Full"), this, [this] {
    session_->runComparison(true);
    showDock(kCompare);
  });
  compare->setShortcut(QKeySequence(QStringLiteral("F6")));
  QAction* measure = run->addAction(QStringLiteral("&Measure Costs on this Machine"), this, [this] {
    costView_->measure();
    showDock(kCost);
  });
  measure->setShortcut(QKeySequence(QStringLiteral("F7")));
  QAction* cancel = run->addAction(QStringLiteral("Cancel &Tasks"), this, [this] { tasks_->cancelAll(); });
  cancel->setShortcut(QKeySequence(QStringLiteral("Ctrl+.")));
  for (QAction* a : {attention, compare, measure, cancel}) a->setEnabled(gl);

  QMenu* tour = menuBar()->addMenu(QStringLiteral("&Tour"));
  QAction* start = tour->addAction(QStringLiteral("&Start the Tour"), this, &MainWindow::startTour);
  start->setShortcut(QKeySequence(QStringLiteral("F1")));
  QAction* next = tour->addAction(QStringLiteral("&Next Step"), this, [this] {
    showDock(kTour);
    tourView_->next();
  });
  next->setShortcut(QKeySequence(QStringLiteral("Alt+Right")));
  QAction* prev = tour->addAction(QStringLiteral("&Previous Step"), this, [this] {
    showDock(kTour);
    tourView_->previous();
  });
  prev->setShortcut(QKeySequence(QStringLiteral("Alt+Left")));
  for (QAction* a : {start, next, prev}) a->setEnabled(gl);

  QMenu* settings = menuBar()->addMenu(QStringLiteral("&Settings"));
  settings->addAction(QStringLiteral("Compute &Backend…"), this, &MainWindow::showComputeBackendDialog);

  QMenu* help = menuBar()->addMenu(QStringLiteral("&Help"));
  help->addAction(QStringLiteral("&About BigBird Studio"), this, &MainWindow::showAbout);
  help->addAction(QStringLiteral("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::addModelDocks() {
  auto addDock = [this](const char* id, const QString& title, const QString& shortcut, QWidget* w) {
    auto* d = new QDockWidget(title, this);
    d->setObjectName(QString::fromLatin1(id));
    d->setWidget(w);
    d->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    d->toggleViewAction()->setShortcut(QKeySequence(shortcut));
    docks_[id] = d;
  };
  finetune_ = new FinetuneDashboard(tasks_);
  addDock(kFinetune, QStringLiteral("Fine-tuning"), QStringLiteral("Ctrl+Alt+F"), finetune_);
  std::vector<std::string> bundled = {defaultModelDir().toStdString(), (resourceDir() + QStringLiteral("/models/default")).toStdString()};
  models_ = new ModelManager(tasks_, defaultModelRoots(bundled));
  addDock(kModels, QStringLiteral("Models"), QStringLiteral("Ctrl+Alt+M"), models_);
  auto* remotePanel = new remote::RemotePanel();
  addDock(kRemote, QStringLiteral("Remote"), QStringLiteral("Ctrl+Alt+R"), remotePanel);
  // Saved runners are backends of summarization and fine-tuning (their jobs run as tasks).
  auto loadRunners = [this] {
    std::vector<bb::remote::SavedRunner> runners;
    try {
      runners = bb::remote::load_runners();
    } catch (const bb::Error&) {
      // The Remote dock shows why the file cannot be read.
    }
    if (documentsPanel_) documentsPanel_->setRunners(runners);
    finetune_->setRunners(runners);
  };
  loadRunners();
  connect(remotePanel, &remote::RemotePanel::runnersSaved, this, loadRunners);
  connect(models_, &ModelManager::currentModelChanged, this, &MainWindow::setCurrentModel);
  connect(finetune_, &FinetuneDashboard::modelExported, models_, &ModelManager::refresh);
}

void MainWindow::setCurrentModel(const QString& dir) {
  currentModel_ = dir;
  bool encoder = false;
  try {
    encoder = bb::load_config(dir.toStdString() + "/config.json").family == bb::ModelFamily::BigBird;
  } catch (const bb::Error&) {
  }
  // Encoder models drive the Attention Lab and fine-tuning; every model goes to the listeners.
  if (encoder) {
    loadModel(dir);
    finetune_->setModelDir(dir);
  }
  statusBar()->showMessage(QStringLiteral("Current model: %1").arg(dir), 5000);
  emit currentModelChanged(dir);
}

ComputeBackendDialog* MainWindow::showComputeBackendDialog() {
  if (auto* open = findChild<ComputeBackendDialog*>()) {
    open->raise();
    open->activateWindow();
    return open;
  }
  auto* dialog = new ComputeBackendDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &QDialog::accepted, this, [this, dialog] {
    ComputeBackend::instance().setSelection(dialog->chosen());
    if (useSettings_) {
      QSettings s;
      ComputeBackend::instance().save(s);
    }
    statusBar()->showMessage(QStringLiteral("Compute backend: ") + ComputeBackend::instance().selectionText(), 5000);
  });
  dialog->open();
  return dialog;
}

void MainWindow::startTour() {
  showDock(kTour);
  tourView_->setStep(0);
}

void MainWindow::loadModel(const QString& dir) {
  session_->loadModel(dir);
  if (useSettings_) QSettings().setValue(QStringLiteral("lab/modelDir"), dir);
}

void MainWindow::openDocument(const QString& path) {
  session_->openDocument(path);
  if (useSettings_) QSettings().setValue(QStringLiteral("lab/document"), path);
  showDock(kText);
  showDock(kDocument);
}

void MainWindow::openDocumentDialog() {
  // Through the Documents panel (.txt, .md, .html, .pdf), which hands the text on to the lab.
  showDock(kDocuments);
  documentsPanel_->openFileDialog();
}

void MainWindow::loadModelDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Load Model (a directory with config.json and model.safetensors)"),
                                                        session_->model() ? session_->model()->dir : defaultModelDir());
  if (!dir.isEmpty()) loadModel(dir);
}

ImGuiView* MainWindow::activeView() const { return active_ && active_->viewCount() > 0 ? active_->view(0) : nullptr; }

void MainWindow::exportActive(const QString& kind, const QString& path) {
  ImGuiWidget* w = active_;
  ImGuiView* v = activeView();
  if (!w || !v) throw bb::Error("no view to export");
  if (kind == QStringLiteral("png")) {
    savePng(w->grabFramebuffer(), path);
  } else if (kind == QStringLiteral("svg")) {
    writeText(path, w->grabSvg());
  } else {
    const std::string text = kind == QStringLiteral("csv") ? v->exportCsv() : v->exportJson();
    if (text.empty())
      throw bb::Error(std::string("the ") + v->title() + " view has no numbers to export as " + kind.toStdString() + " right now");
    writeText(path, text);
  }
}

void MainWindow::exportDialog(const QString& kind) {
  ImGuiView* v = activeView();
  if (!v) return;
  const QString filter = kind.toUpper() + QStringLiteral(" (*.") + kind + QStringLiteral(")");
  const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export %1 as %2").arg(QString::fromUtf8(v->title()), kind.toUpper()),
                                                    QString::fromStdString(v->exportName()) + QStringLiteral(".") + kind, filter);
  if (path.isEmpty()) return;
  try {
    exportActive(kind, path);
    statusBar()->showMessage(QStringLiteral("Saved %1").arg(path), 5000);
  } catch (const bb::Error& e) {
    QMessageBox::warning(this, QStringLiteral("Export failed"), QString::fromStdString(e.what()));
  }
}

void MainWindow::setUiScale(float scale) {
  uiScale_ = std::clamp(scale, 0.75f, 2.5f);
  for (auto& [id, w] : widgets_) w->setUiScale(uiScale_);
  if (useSettings_) QSettings().setValue(QStringLiteral("ui/scale"), uiScale_);
}

void MainWindow::restoreSettings(const LabOptions& options) {
  QString modelDir = options.modelDir, document = options.document;
  if (useSettings_) {
    QSettings s;
    restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(s.value(QStringLiteral("window/state")).toByteArray(), kLayoutVersion);
    setUiScale(s.value(QStringLiteral("ui/scale"), 1.0).toFloat());
    ComputeBackend::instance().load(s);
    if (modelDir.isEmpty()) modelDir = s.value(QStringLiteral("lab/modelDir")).toString();
    if (document.isEmpty()) document = s.value(QStringLiteral("lab/document")).toString();
    const QString mode = s.value(QStringLiteral("lab/randomBlocks")).toString();
    try {
      if (!mode.isEmpty()) session_->setRandomBlocks(bb::attn::parse_random_blocks(mode.toStdString()));
      MaskConfig c = maskView_->config();
      c.seq_len = s.value(QStringLiteral("pattern/length"), qlonglong(c.seq_len)).toLongLong();
      c.block = s.value(QStringLiteral("pattern/block"), c.block).toInt();
      c.num_random = s.value(QStringLiteral("pattern/random"), c.num_random).toInt();
      c.heads = s.value(QStringLiteral("pattern/heads"), c.heads).toInt();
      c.layer = s.value(QStringLiteral("pattern/layer"), c.layer).toInt();
      c.head = s.value(QStringLiteral("pattern/head"), c.head).toInt();
      c.mode = bb::attn::parse_random_blocks(
          s.value(QStringLiteral("pattern/mode"), QString::fromStdString(bb::attn::to_string(c.mode))).toString().toStdString());
      maskView_->setConfig(c);
    } catch (const bb::Error&) {
      // A settings file from another version: keep the defaults.
    }
  }
  if (modelDir.isEmpty() && options.autoLoadModel && QFileInfo(defaultModelDir() + QStringLiteral("/config.json")).exists())
    modelDir = defaultModelDir();
  if (!modelDir.isEmpty() && (options.autoLoadModel || !options.modelDir.isEmpty())) session_->loadModel(modelDir);
  if (!document.isEmpty() && QFileInfo(document).isFile()) session_->openDocument(document);
}

void MainWindow::saveSettings() {
  if (!useSettings_ || !session_) return;
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState(kLayoutVersion));
  s.setValue(QStringLiteral("lab/randomBlocks"), QString::fromStdString(bb::attn::to_string(session_->randomBlocks())));
  const MaskConfig& c = maskView_->config();
  s.setValue(QStringLiteral("pattern/length"), qlonglong(c.seq_len));
  s.setValue(QStringLiteral("pattern/block"), c.block);
  s.setValue(QStringLiteral("pattern/random"), c.num_random);
  s.setValue(QStringLiteral("pattern/heads"), c.heads);
  s.setValue(QStringLiteral("pattern/layer"), c.layer);
  s.setValue(QStringLiteral("pattern/head"), c.head);
  s.setValue(QStringLiteral("pattern/mode"), QString::fromStdString(bb::attn::to_string(c.mode)));
}

void MainWindow::scheduleSave() {
  if (useSettings_ && saveTimer_) saveTimer_->start();
}

void MainWindow::watchSessionChanges() {
  // A job that throws something other than bb::Error is a bug: report it, keep running.
  connect(tasks_, &TaskManager::taskCrashed, this,
          [this](int, const QString& title, const QString& error) { showErrorReport(this, title, error); });
  if (!useSettings_) return;
  saveTimer_ = new QTimer(this);
  saveTimer_->setSingleShot(true);
  saveTimer_->setInterval(400);
  connect(saveTimer_, &QTimer::timeout, this, &MainWindow::saveSettings);
  for (auto& [id, d] : docks_) {
    connect(d, &QDockWidget::visibilityChanged, this, &MainWindow::scheduleSave);
    connect(d, &QDockWidget::dockLocationChanged, this, &MainWindow::scheduleSave);
    connect(d, &QDockWidget::topLevelChanged, this, &MainWindow::scheduleSave);
  }
  connect(session_, &LabSession::changed, this, &MainWindow::scheduleSave);  // pattern edits: see syncGrid
}

void MainWindow::closeEvent(QCloseEvent* e) {
  saveSettings();
  if (tasks_) tasks_->cancelAll();
  QMainWindow::closeEvent(e);
}

void MainWindow::showAbout() {
  ImGuiWidget* w = widgetOf(kPattern);
  const QString renderer = w ? w->rendererName() : QStringLiteral("unavailable");
  QMessageBox::about(this, QStringLiteral("About BigBird Studio"),
                     QStringLiteral("<h3>BigBird Studio %1</h3>"
                                    "<p>Explore, run and train BigBird sparse-attention transformers.</p>"
                                    "<p>Qt %2 · Dear ImGui %3<br>OpenGL renderer: %4</p>")
                         .arg(QStringLiteral(BIGBIRD_VERSION), QString::fromLatin1(qVersion()),
                              QString::fromLatin1(IMGUI_VERSION), renderer.toHtmlEscaped()));
}

}  // namespace bb::ui
