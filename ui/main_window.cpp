#include "ui/main_window.h"

#include <imgui.h>

#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>

#include "engine/core/error.h"
#include "ui/imgui_widget.h"
#include "ui/mask_view.h"
#include "ui/pattern_render.h"

namespace bb::ui {

MainWindow::MainWindow(const MaskConfig& pattern, QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("BigBird Studio"));
  rendererLabel_ = new QLabel(this);
  rendererLabel_->setContentsMargins(8, 0, 8, 0);
  statusBar()->addPermanentWidget(rendererLabel_);

  QString why;
  if (ImGuiWidget::openGLAvailable(&why)) {
    imgui_ = new ImGuiWidget(this);
    maskView_ = imgui_->addView<MaskView>(pattern);
    maskView_->setOnChange([this] { imgui_->requestFrames(); });
    setCentralWidget(imgui_);
    connect(imgui_, &ImGuiWidget::glInitialized, this,
            [this](const QString& renderer) { rendererLabel_->setText(QStringLiteral("OpenGL: ") + renderer); });
    statusBar()->showMessage(QStringLiteral("Ready"), 3000);
  } else {
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
  }
  createMenus();
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
  QAction* exportAction = file->addAction(QStringLiteral("&Export Pattern as PNG…"), this, &MainWindow::exportPng);
  exportAction->setShortcut(QKeySequence(QStringLiteral("Ctrl+E")));
  exportAction->setEnabled(imgui_ != nullptr);
  file->addSeparator();
  QAction* quit = file->addAction(QStringLiteral("&Quit"), qApp, &QApplication::quit);
  quit->setShortcut(QKeySequence::Quit);
  quit->setMenuRole(QAction::QuitRole);

  QMenu* view = menuBar()->addMenu(QStringLiteral("&View"));
  QAction* fit = view->addAction(QStringLiteral("&Fit Grid to Window"), this, [this] {
    maskView_->resetZoom();
    imgui_->requestFrames();
  });
  fit->setShortcut(QKeySequence(QStringLiteral("Ctrl+0")));
  QAction* reset = view->addAction(QStringLiteral("&Reset Pattern Settings"), this, [this] {
    maskView_->setConfig(MaskConfig{});
    maskView_->resetZoom();
  });
  view->addSeparator();
  QAction* metrics = view->addAction(QStringLiteral("Dear ImGui &Metrics"));
  metrics->setCheckable(true);
  connect(metrics, &QAction::toggled, this, [this](bool on) { imgui_->setShowMetrics(on); });
  for (QAction* a : {fit, reset, metrics}) a->setEnabled(imgui_ != nullptr);

  QMenu* help = menuBar()->addMenu(QStringLiteral("&Help"));
  help->addAction(QStringLiteral("&About BigBird Studio"), this, &MainWindow::showAbout);
  help->addAction(QStringLiteral("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::exportPng() {
  const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export Pattern as PNG"),
                                                    QStringLiteral("pattern.png"), QStringLiteral("PNG image (*.png)"));
  if (path.isEmpty()) return;
  try {
    savePng(imgui_->grabFramebuffer(), path);
    statusBar()->showMessage(QStringLiteral("Saved %1").arg(path), 5000);
  } catch (const bb::Error& e) {
    QMessageBox::warning(this, QStringLiteral("Export failed"), QString::fromStdString(e.what()));
  }
}

void MainWindow::showAbout() {
  const QString renderer = imgui_ ? imgui_->rendererName() : QStringLiteral("unavailable");
  QMessageBox::about(this, QStringLiteral("About BigBird Studio"),
                     QStringLiteral("<h3>BigBird Studio %1</h3>"
                                    "<p>Explore, run and train BigBird sparse-attention transformers.</p>"
                                    "<p>Qt %2 · Dear ImGui %3<br>OpenGL renderer: %4</p>")
                         .arg(QStringLiteral(BIGBIRD_VERSION), QString::fromLatin1(qVersion()),
                              QString::fromLatin1(IMGUI_VERSION), renderer.toHtmlEscaped()));
}

}  // namespace bb::ui
