// The compute backend setting, under Xvfb with lavapipe (Mesa's CPU Vulkan): the Settings dialog
// lists the devices with their self-test, the choice survives a restart of the main window, a lab
// forward pass with Vulkan chosen really runs on the device and the status bar names it, a device
// whose self-test fails (BIGBIRD_VK_FAULT) falls back to the CPU with the reason in the label, its
// tooltip and the status bar, and the CPU choice shows "CPU". Validation layers stay silent.

// Before any Qt header: the engine's Vulkan headers have members named like Qt's keyword macros.
#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_random_weights.h"

#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QSpinBox>
#include <QDialog>
#include <QLabel>
#include <QSettings>
#include <QStatusBar>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>
#include <memory>

#include "ui/app_dirs.h"
#include "ui/backend_status_label.h"
#include "ui/compute_backend.h"
#include "ui/compute_backend_dialog.h"
#include "ui/documents/documents_panel.h"
#include "ui/documents/model_outputs_view.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/imgui_widget.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/task_manager.h"

using namespace bb::ui;
using bb::backend::Kind;
using bb::backend::Selection;

namespace {

QString testHome() { return QDir::temp().filePath(QStringLiteral("bigbird-compute-backend-%1").arg(QCoreApplication::applicationPid())); }

LabOptions withSettings() {
  LabOptions o;
  o.useSettings = true;
  o.autoLoadModel = false;
  return o;
}

const std::string kText = "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                          "must be in want of a wife. However little known the feelings or views of such a man may be "
                          "on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
                          "surrounding families, that he is considered as the rightful property of some one or other.";

// A classification set and a model whose WordPiece vocabulary is just its words: steps take milliseconds.
void writeTinyTrainingRun(const QString& dir) {
  QStringList vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "the", "film", "was"};
  bb::ModelConfig c = tinyGpt2Config(256);
  c.vocab_size = vocab.size();
  c.sep_token_id = 3;
  writeRandomModel(dir + QStringLiteral("/model"), c, 7);
  QFile v(dir + QStringLiteral("/model/vocab.txt"));
  QVERIFY(v.open(QIODevice::WriteOnly));
  v.write((vocab.join('\n') + '\n').toUtf8());
  QFile csv(dir + QStringLiteral("/train.csv"));
  QVERIFY(csv.open(QIODevice::WriteOnly));
  csv.write("text,label\n");
  for (int r = 0; r < 16; ++r) csv.write(r % 2 ? "the film was good good,pos\n" : "the film was bad bad,neg\n");
}

void writeTinyPegasus(const QString& dir) {
  QDir().mkpath(dir);
  const bb::ModelConfig c = bb::pegasus_shape_config("pegasus-tiny");
  bb::io::write_file_atomic(dir.toStdString() + "/config.json", bb::config_to_json(c));
  const bb::ParameterStore params = bb::random_pegasus_parameters(c, 7);
  bb::io::SafetensorsWriter w;
  for (const std::string& n : params.names()) w.add(n, params.get(n));
  w.write(dir.toStdString() + "/model.safetensors");
}

}  // namespace

class TstComputeBackend : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat()); }

 private slots:
  void initTestCase() {
    QDir(testHome()).removeRecursively();
    qputenv("XDG_CONFIG_HOME", (testHome() + QStringLiteral("/config")).toUtf8());
    qputenv("XDG_CACHE_HOME", (testHome() + QStringLiteral("/cache")).toUtf8());
    QDir().mkpath(testHome() + QStringLiteral("/cache"));
    qputenv("BIGBIRD_VK_PIPELINE_CACHE_DIR", "none");
    if (bb::vk::validation_layer_available()) qputenv("BIGBIRD_VK_VALIDATE", "1");
    useXdgSettings();
    QString why;
    if (!ImGuiWidget::openGLAvailable(&why)) QSKIP(qPrintable("no OpenGL: " + why));
    QVERIFY(model_.isValid());
    writeRandomModel(model_.filePath(QStringLiteral("tiny")), tinyGpt2Config(1024), 5);
  }

  void cleanupTestCase() {
    bb::vk::release_devices();
    QCOMPARE(bb::vk::process_validation_messages(), 0);
    QDir(testHome()).removeRecursively();
  }

  void theDialogListsDevicesAndTheChoiceSurvivesARestart() {
    ComputeBackend::instance().setSelection({});
    auto first = std::make_unique<MainWindow>(withSettings());
    auto* label = first->findChild<QLabel*>(QStringLiteral("backendStatus"));
    QVERIFY(label);
    QCOMPARE(label->text(), QStringLiteral("CPU"));
    // A click on the status-bar label opens the setting.
    QTest::mouseClick(label, Qt::LeftButton);
    auto* dialog = first->findChild<ComputeBackendDialog*>();
    QVERIFY(dialog);
    QTRY_VERIFY_WITH_TIMEOUT(ComputeBackend::instance().probed(), 15000);  // device creation + self-test
    const DeviceProbe probe = ComputeBackend::instance().devices();
    if (probe.devices.empty()) QSKIP(qPrintable(QStringLiteral("no Vulkan device: ") + QString::fromStdString(probe.error)));
    QTRY_COMPARE(dialog->deviceTable()->topLevelItemCount(), int(probe.devices.size()));
    int passed = -1;
    for (int i = 0; i < int(probe.devices.size()); ++i) {
      const QTreeWidgetItem* row = dialog->deviceTable()->topLevelItem(i);
      QCOMPARE(row->text(0), QString::fromStdString(probe.devices[size_t(i)].name));
      QCOMPARE(row->text(1), QString::fromStdString(probe.devices[size_t(i)].type));
      QVERIFY(row->text(2).endsWith(QStringLiteral("GiB")));
      QVERIFY2(row->text(3).startsWith(QStringLiteral("passed")) || row->text(3).startsWith(QStringLiteral("failed: ")),
               qPrintable(row->text(3)));
      if (probe.devices[size_t(i)].selfTestPassed && passed < 0) passed = i;
    }
    if (passed < 0) QSKIP("no Vulkan device passes the self-test");
    device_ = probe.devices[size_t(passed)].name;
    dialog->backendBox()->setCurrentIndex(dialog->backendBox()->findData(QStringLiteral("vulkan")));
    dialog->deviceTable()->setCurrentItem(dialog->deviceTable()->topLevelItem(passed));
    QCOMPARE(dialog->deviceBox()->currentData().toString(), QString::fromStdString(device_));
    dialog->accept();
    QCOMPARE(int(ComputeBackend::instance().selection().kind), int(Kind::Vulkan));
    first.reset();

    ComputeBackend::instance().setSelection({});  // as in a new process
    QCOMPARE(int(ComputeBackend::instance().selection().kind), int(Kind::Cpu));
    MainWindow second(withSettings());
    const Selection restored = ComputeBackend::instance().selection();
    QCOMPARE(int(restored.kind), int(Kind::Vulkan));
    QCOMPARE(restored.device, device_);
    QCOMPARE(QSettings().value(QStringLiteral("compute/backend")).toString(), QStringLiteral("vulkan"));
    // The dialog opens on the saved choice.
    ComputeBackendDialog* again = second.showComputeBackendDialog();
    QCOMPARE(again->backendBox()->currentData().toString(), QStringLiteral("vulkan"));
    QCOMPARE(again->deviceBox()->currentData().toString(), QString::fromStdString(device_));
    again->reject();
  }

  void aLabPassRunsOnTheChosenVulkanDevice() {
    if (device_.empty()) QSKIP("no Vulkan device passed the self-test");
    ComputeBackend::instance().setSelection({Kind::Vulkan, device_});
    MainWindow window;
    auto* label = window.findChild<QLabel*>(QStringLiteral("backendStatus"));
    QSignalSpy used(&ComputeBackend::instance(), &ComputeBackend::used);
    runLab(window);
    QVERIFY(window.session()->attention());
    QTRY_VERIFY(!used.isEmpty());
    QCOMPARE(used.last().at(0).toString(), QStringLiteral("vulkan (%1)").arg(QString::fromStdString(device_)));
    QCOMPARE(label->text(), QStringLiteral("Vulkan · ") + QString::fromStdString(device_));
  }

  void aFailedSelfTestFallsBackToTheCpuVisibly() {
    if (device_.empty()) QSKIP("no Vulkan device passed the self-test");
    qputenv("BIGBIRD_VK_FAULT", "mismatch:gemm");
    ComputeBackend::instance().setSelection({Kind::Vulkan, device_});
    MainWindow window;
    auto* label = window.findChild<BackendStatusLabel*>(QStringLiteral("backendStatus"));
    QSignalSpy notices(label, &BackendStatusLabel::notice);
    runLab(window);
    qunsetenv("BIGBIRD_VK_FAULT");
    QVERIFY(window.session()->attention());  // the pass still ran, on the CPU
    QTRY_VERIFY2(label->text().startsWith(QStringLiteral("CPU (fallback: ")), qPrintable(label->text()));
    QVERIFY2(label->toolTip().contains(QStringLiteral("self-test mismatch: gemm")), qPrintable(label->toolTip()));
    QVERIFY2(label->toolTip().contains(QString::fromStdString(device_)), qPrintable(label->toolTip()));
    // The notice went to the window (status bar), and the pass's own message says where it ran.
    QTRY_VERIFY(!notices.isEmpty());
    QVERIFY2(notices.first().at(0).toString().contains(QStringLiteral("running on the CPU")), qPrintable(notices.first().at(0).toString()));
    const QString shown = window.statusBar()->currentMessage();
    QVERIFY2(shown.contains(QStringLiteral("CPU (fallback: ")) || shown.contains(QStringLiteral("running on the CPU")), qPrintable(shown));
  }

  void documentJobsRunOnTheChosenDevice() {
    if (device_.empty()) QSKIP("no Vulkan device passed the self-test");
    ComputeBackend::instance().setSelection({Kind::Vulkan, device_});
    const QString vulkan = QStringLiteral("Vulkan · ") + QString::fromStdString(device_);
    MainWindow window;
    documents::DocumentsPanel* panel = window.documentsPanel();
    writeTinyPegasus(model_.filePath(QStringLiteral("pegasus")));
    panel->setSummaryModelDir(model_.filePath(QStringLiteral("pegasus")));
    panel->openText(QStringLiteral("Austen"), QString::fromStdString(kText));
    QVERIFY(window.tasks()->waitForIdle(30000));
    QVERIFY(panel->summaryModel());
    documents::SummarySettings s = panel->summarySettings();
    s.beams = 1;
    s.maxLength = 8;
    s.minLength = 2;
    panel->setSummarySettings(s);
    QSignalSpy finished(panel, &documents::DocumentsPanel::summaryFinished);
    panel->summarize();
    QVERIFY(window.tasks()->waitForIdle(60000));
    QCOMPARE(int(finished.size()), 1);
    QVERIFY2(finished[0][0].toBool(), qPrintable(finished[0][1].toString()));
    // Encoder and decoder both on the device (no cross-attention capture on a GPU backend).
    QVERIFY2(panel->summaryStatus().contains(QStringLiteral("Encoder: %1; decoder: %1").arg(vulkan)), qPrintable(panel->summaryStatus()));
    auto* label = window.findChild<QLabel*>(QStringLiteral("backendStatus"));
    QTRY_COMPARE(label->text(), vulkan);

    // Fill-mask on the document with the lab's encoder model.
    window.session()->setAutoRun(false);
    window.loadModel(model_.filePath(QStringLiteral("tiny")));
    QVERIFY(window.tasks()->waitForIdle(30000));
    documents::ModelOutputsView* outputs = panel->modelOutputs();
    QVERIFY(outputs->hasModel());
    label->setText(QStringLiteral("stale"));
    outputs->maskWord(8, 13);  // "truth"
    QVERIFY(window.tasks()->waitForIdle(30000));
    QVERIFY2(outputs->maskResult(), qPrintable(outputs->errorText()));
    QCOMPARE(QString::fromStdString(outputs->maskResult()->backend), QStringLiteral("vulkan (%1)").arg(QString::fromStdString(device_)));
    QTRY_COMPARE(label->text(), vulkan);
  }

  void fineTuningStepsRunOnTheChosenDevice() {
    if (device_.empty()) QSKIP("no Vulkan device passed the self-test");
    ComputeBackend::instance().setSelection({Kind::Vulkan, device_});
    writeTinyTrainingRun(model_.path());
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setModelDir(model_.filePath(QStringLiteral("model")));
    d.setTrainFile(model_.filePath(QStringLiteral("train.csv")));
    d.setOutDir(model_.filePath(QStringLiteral("run")));
    d.maxLengthBox()->setValue(16);
    d.batchBox()->setValue(2);
    d.stepsBox()->setValue(2);
    d.evalEveryBox()->setValue(2);
    d.saveEveryBox()->setValue(2);
    QCOMPARE(d.backendBox()->currentData().toString(), QStringLiteral("local"));
    QSignalSpy used(&ComputeBackend::instance(), &ComputeBackend::used);
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QVERIFY2(d.start(), qPrintable(d.errorText()));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(*d.state() == bb::jobs::JobState::Finished, qPrintable(d.errorText()));
    QTRY_VERIFY(!used.isEmpty());
    QCOMPARE(used.first().at(0).toString(), QStringLiteral("vulkan (%1)").arg(QString::fromStdString(device_)));
  }

  void theCpuChoiceShowsCpu() {
    ComputeBackend::instance().setSelection({});
    MainWindow window;
    auto* label = window.findChild<QLabel*>(QStringLiteral("backendStatus"));
    label->setText(QStringLiteral("stale"));
    QSignalSpy used(&ComputeBackend::instance(), &ComputeBackend::used);
    runLab(window);
    QTRY_VERIFY(!used.isEmpty());
    QCOMPARE(used.last().at(0).toString(), QStringLiteral("cpu"));
    QCOMPARE(label->text(), QStringLiteral("CPU"));
  }

 private:
  void runLab(MainWindow& window) {
    window.session()->setAutoRun(false);
    window.loadModel(model_.filePath(QStringLiteral("tiny")));
    QVERIFY(window.tasks()->waitForIdle(30000));
    QVERIFY2(window.session()->model(), qPrintable(window.session()->modelError()));
    window.session()->setDocumentText(QStringLiteral("sample"), kText);
    QVERIFY(window.tasks()->waitForIdle(30000));
    window.session()->runAttention();
    QVERIFY(window.tasks()->waitForIdle(60000));
    QCoreApplication::processEvents();
  }

  QTemporaryDir model_;
  std::string device_;
};

QTEST_MAIN(TstComputeBackend)
#include "tst_compute_backend.moc"
