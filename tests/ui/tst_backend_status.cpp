// The status-bar backend label: "CPU" by default, "Vulkan · <device>" when a pass ran there,
// "CPU (fallback: <reason>)" with the full reason as tooltip after a fallback, and backend notices
// sent from a worker thread shown on the UI thread; the main window's status bar carries the label.
#include <QLabel>
#include <QStatusBar>
#include <QSurfaceFormat>
#include <QThread>
#include <QtTest>

#include "engine/backend/backend.h"
#include "ui/backend_status_label.h"
#include "ui/imgui_widget.h"
#include "ui/main_window.h"

using bb::ui::BackendStatusLabel;

class TstBackendStatus : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat()); }

 private slots:
  void theMainWindowShowsTheBackend() {
    QString why;
    if (!bb::ui::ImGuiWidget::openGLAvailable(&why)) QSKIP(qPrintable("no OpenGL: " + why));
    bb::ui::MainWindow window;
    auto* label = window.findChild<QLabel*>(QStringLiteral("backendStatus"));
    QVERIFY(label != nullptr);
    QCOMPARE(label->text(), QStringLiteral("CPU"));
    bb::backend::notice("vulkan: training is not supported on the GPU yet; running on the CPU");
    QTRY_VERIFY(label->toolTip().startsWith(QStringLiteral("vulkan: training is not supported on the GPU yet; running on the CPU")));
    // The notice also reaches the status bar.
    QTRY_COMPARE(window.statusBar()->currentMessage(), QStringLiteral("vulkan: training is not supported on the GPU yet; running on the CPU"));
  }

  void showsWhatRan() {
    BackendStatusLabel label;
    QCOMPARE(label.text(), QStringLiteral("CPU"));
    label.showUsed("vulkan (NVIDIA H200)");
    QCOMPARE(label.text(), QStringLiteral("Vulkan · NVIDIA H200"));
    label.showUsed("cpu (fallback: llvmpipe: VK_ERROR_OUT_OF_DEVICE_MEMORY)");
    QCOMPARE(label.text(), QStringLiteral("CPU (fallback: llvmpipe: VK_ERROR_OUT_OF_DEVICE_MEMORY)"));
    QVERIFY(label.toolTip().startsWith(QStringLiteral("Running on the CPU: llvmpipe: VK_ERROR_OUT_OF_DEVICE_MEMORY\n")));
    // A long reason is cut short in the label; the tooltip has all of it.
    const std::string reason = "llvmpipe (LLVM 15.0.6, 256 bits): self-test mismatch: gemm max |diff| 1.0e+00 > 1.0e-03";
    label.showUsed("cpu (fallback: " + reason + ")");
    QVERIFY(label.text().startsWith(QStringLiteral("CPU (fallback: llvmpipe")) && label.text().endsWith(QStringLiteral("…)")));
    QVERIFY(label.toolTip().contains(QString::fromStdString(reason)));
    label.showUsed("cpu");
    QCOMPARE(label.text(), QStringLiteral("CPU"));
    QVERIFY(label.toolTip().startsWith(QStringLiteral("Models run on the CPU")));
  }

  void noticesFromAWorkerThreadBecomeTheTooltip() {
    BackendStatusLabel label;
    label.showUsed("vulkan (llvmpipe)");
    const std::string line = "vulkan backend unavailable (llvmpipe: device lost); running on the CPU";
    QThread* worker = QThread::create([&] { bb::backend::notice(line); });
    worker->start();
    QVERIFY(worker->wait(5000));
    delete worker;
    QTRY_VERIFY(label.toolTip().startsWith(QString::fromStdString(line)));
    QCOMPARE(label.text(), QStringLiteral("CPU"));
  }
};

QTEST_MAIN(TstBackendStatus)
#include "tst_backend_status.moc"
