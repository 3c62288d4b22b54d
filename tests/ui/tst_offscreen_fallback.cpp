// Where OpenGL is unavailable (QT_QPA_PLATFORM=offscreen, on which QOpenGLWidget crashes inside
// Qt 6.4), the studio must not crash: the window shows a placeholder that says why, and --render
// fails with one clear line.
#include <QLabel>
#include <QProcess>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/imgui_widget.h"
#include "ui/main_window.h"

class TstOffscreenFallback : public QObject {
  Q_OBJECT

 public:
  static void initMain() {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat());
  }

 private slots:
  void openGLIsReportedUnavailable() {
    QString why;
    QVERIFY(!bb::ui::ImGuiWidget::openGLAvailable(&why));
    QVERIFY2(why.contains(QStringLiteral("offscreen")), qPrintable(why));
  }

  void windowShowsPlaceholder() {
    bb::ui::MainWindow window;
    window.resize(900, 600);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(window.imguiWidget() == nullptr);
    QVERIFY(window.maskView() == nullptr);
    auto* label = qobject_cast<QLabel*>(window.centralWidget());
    QVERIFY(label != nullptr);
    QVERIFY2(label->text().contains(QStringLiteral("offscreen")), qPrintable(label->text()));
    QVERIFY(!window.grab().isNull());
  }

  void applicationStartsWithoutCrashing() {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(BIGBIRD_STUDIO), QStringList{});
    QVERIFY(p.waitForStarted());
    QVERIFY2(!p.waitForFinished(2000), "bigbird-studio exited on the offscreen platform instead of running");
    p.kill();
    p.waitForFinished();
  }

  void renderFailsWithOneLine() {
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("x.png"));
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(BIGBIRD_STUDIO), {"--render", "pattern", "--out", out});
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 1);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.contains(QStringLiteral("bigbird-studio: cannot render: OpenGL is not available")), qPrintable(err));
    QVERIFY(!QFile::exists(out));
  }
};

QTEST_MAIN(TstOffscreenFallback)
#include "tst_offscreen_fallback.moc"
