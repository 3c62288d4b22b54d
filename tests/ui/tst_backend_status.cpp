// The status-bar backend label: "CPU" by default, the Vulkan device's name when a pass ran there,
// "CPU" with the reason as tooltip after a fallback, and backend notices sent from a worker thread
// shown on the UI thread; the main window's status bar carries the label.
#include <QLabel>
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
    QTRY_COMPARE(label->toolTip(), QStringLiteral("vulkan: training is not supported on the GPU yet; running on the CPU"));
  }

  void showsWhatRan() {
    BackendStatusLabel label;
    QCOMPARE(label.text(), QStringLiteral("CPU"));
    label.showUsed("vulkan (NVIDIA H200)");
    QCOMPARE(label.text(), QStringLiteral("NVIDIA H200"));
    label.showUsed("cpu (fallback: llvmpipe: VK_ERROR_OUT_OF_DEVICE_MEMORY)");
    QCOMPARE(label.text(), QStringLiteral("CPU"));
    QCOMPARE(label.toolTip(), QStringLiteral("Running on the CPU: llvmpipe: VK_ERROR_OUT_OF_DEVICE_MEMORY"));
    label.showUsed("cpu");
    QCOMPARE(label.toolTip(), QStringLiteral("Models run on the CPU"));
  }

  void noticesFromAWorkerThreadBecomeTheTooltip() {
    BackendStatusLabel label;
    label.showUsed("vulkan (llvmpipe)");
    const std::string line = "vulkan backend unavailable (llvmpipe: device lost); running on the CPU";
    QThread* worker = QThread::create([&] { bb::backend::notice(line); });
    worker->start();
    QVERIFY(worker->wait(5000));
    delete worker;
    QTRY_COMPARE(label.toolTip(), QString::fromStdString(line));
    QCOMPARE(label.text(), QStringLiteral("CPU"));
  }
};

QTEST_MAIN(TstBackendStatus)
#include "tst_backend_status.moc"
