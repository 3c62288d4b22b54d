// Crash safety for users, under Xvfb: a job that throws something other than bb::Error opens a
// copyable error report (also saved under the XDG data dir) and the app keeps working; the session
// (dock layout, pattern, model) is written when it changes, so a window that dies without closing
// is restored by the next start.
#include <QClipboard>
#include <QDockWidget>
#include <QFile>
#include <QGuiApplication>
#include <QSettings>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>
#include <stdexcept>

#include "engine/core/error.h"
#include "ui/app_dirs.h"
#include "ui/error_report.h"
#include "ui/imgui_widget.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/mask_view.h"
#include "ui/task_manager.h"

using namespace bb::ui;

namespace {

QString testHome() { return QDir::temp().filePath(QStringLiteral("bigbird-crash-safety-%1").arg(QCoreApplication::applicationPid())); }

LabOptions sessionOptions() {
  LabOptions o;
  o.useSettings = true;
  o.autoLoadModel = true;
  return o;
}

}  // namespace

class TstCrashSafety : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat()); }

 private slots:
  void initTestCase() {
    QDir(testHome()).removeRecursively();
    qputenv("XDG_CONFIG_HOME", (testHome() + QStringLiteral("/config")).toUtf8());
    qputenv("XDG_DATA_HOME", (testHome() + QStringLiteral("/data")).toUtf8());
    useXdgSettings();
    QString why;
    QVERIFY2(ImGuiWidget::openGLAvailable(&why), qPrintable(why));
  }
  void cleanupTestCase() { QDir(testHome()).removeRecursively(); }

  void settingsFollowXdg() {
    QCOMPARE(settingsFile(), testHome() + QStringLiteral("/config/bigbird-studio/bigbird-studio.conf"));
    QCOMPARE(crashReportDir(), testHome() + QStringLiteral("/data/bigbird-studio/reports"));
  }

  void aCrashingJobShowsACopyableReportAndTheAppKeepsRunning() {
    LabOptions o;
    o.useSettings = false;
    o.autoLoadModel = false;
    MainWindow window(o);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy crashed(window.tasks(), &TaskManager::taskCrashed);
    window.tasks()->submit(QStringLiteral("test"), QStringLiteral("Crashing job"), [](TaskContext&) -> TaskManager::Finish {
      throw std::out_of_range("vector::at: index 7 out of range");
    });
    QVERIFY(window.tasks()->waitForIdle(10000));
    QCOMPARE(crashed.count(), 1);
    QTRY_COMPARE(int(window.findChildren<ErrorReportDialog*>().size()), 1);
    ErrorReportDialog* dialog = window.findChildren<ErrorReportDialog*>().first();
    QVERIFY(dialog->isVisible());
    QVERIFY(!dialog->isModal());  // the window stays usable
    const QString report = dialog->report();
    QVERIFY2(report.contains(QStringLiteral("vector::at: index 7 out of range")), qPrintable(report));
    QVERIFY(report.contains(QStringLiteral("Crashing job")));
    QVERIFY(report.contains(QStringLiteral(BIGBIRD_VERSION)));
    dialog->copyToClipboard();
    QCOMPARE(QGuiApplication::clipboard()->text(), report);
    QVERIFY2(!dialog->savedPath().isEmpty() && dialog->savedPath().startsWith(crashReportDir()), qPrintable(dialog->savedPath()));
    QFile saved(dialog->savedPath());
    QVERIFY(saved.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(saved.readAll()), report);

    // An expected failure (bb::Error, e.g. a bad file) is a status-bar message, not a crash report.
    window.tasks()->submit(QStringLiteral("test"), QStringLiteral("Bad file"),
                           [](TaskContext&) -> TaskManager::Finish { throw bb::Error("x.safetensors: truncated header"); });
    QVERIFY(window.tasks()->waitForIdle(10000));
    QCOMPARE(crashed.count(), 1);

    // The app keeps running: the next job completes and its result is applied.
    bool applied = false;
    window.tasks()->submit(QStringLiteral("test"), QStringLiteral("Good job"),
                           [&](TaskContext&) { return TaskManager::Finish([&] { applied = true; }); });
    QVERIFY(window.tasks()->waitForIdle(10000));
    QVERIFY(applied);
    QVERIFY(window.isVisible());
  }

  void anExceptionInTheFinishStepIsReportedToo() {
    TaskManager tm;
    QSignalSpy crashed(&tm, &TaskManager::taskCrashed);
    tm.submit(QStringLiteral("g"), QStringLiteral("Apply results"),
              [](TaskContext&) { return TaskManager::Finish([] { throw std::logic_error("bad state"); }); });
    QVERIFY(tm.waitForIdle(10000));
    QCOMPARE(crashed.count(), 1);
    QCOMPARE(crashed.at(0).at(2).toString(), QStringLiteral("bad state"));
  }

  void theSessionSurvivesAWindowThatNeverCloses() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString modelDir = dir.filePath(QStringLiteral("tiny"));
    writeRandomModel(modelDir, tinyGpt2Config(1024), 3);
    {
      auto first = std::make_unique<MainWindow>(sessionOptions());
      first->resize(1200, 800);
      first->show();
      QVERIFY(QTest::qWaitForWindowExposed(first.get()));
      first->loadModel(modelDir);
      QVERIFY(first->tasks()->waitForIdle(60000));
      QVERIFY(first->session()->model());
      MaskConfig c = first->maskView()->config();
      c.layer = 1;  // both survive the model's shape being applied again on restore
      c.head = 2;
      first->maskView()->setConfig(c);
      first->dock(MainWindow::kTour)->hide();  // a layout change: saved shortly after, not at exit
      QTest::qWait(1500);
      // "Crash": the window goes away without a close event, so nothing is saved at exit.
      first.reset();
    }
    MainWindow second(sessionOptions());
    second.show();
    QVERIFY(QTest::qWaitForWindowExposed(&second));
    QVERIFY(second.dock(MainWindow::kTour)->isHidden());
    QVERIFY(!second.dock(MainWindow::kPattern)->isHidden());
    QVERIFY(second.tasks()->waitForIdle(60000));
    QVERIFY2(second.session()->model(), "the last model is loaded again");
    QCOMPARE(second.session()->model()->dir, modelDir);
    QCOMPARE(second.maskView()->config().layer, 1);
    QCOMPARE(second.maskView()->config().head, 2);
  }
};

QTEST_MAIN(TstCrashSafety)
#include "tst_crash_safety.moc"
