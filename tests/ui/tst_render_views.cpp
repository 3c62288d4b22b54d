// `bigbird-studio --render VIEW` for every view, through the real binary: the image has the
// requested size and shows the view (not an empty frame), SVG/CSV/JSON outputs are written, and
// bad requests fail with one line (exit 2 for usage, 1 for the machine).
#include <QFile>
#include <QProcess>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/imgui_widget.h"
#include "ui/lab_random_model.h"

namespace {

struct Run {
  int code = -1;
  QString out, err;
};

Run studio(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(BIGBIRD_STUDIO), args);
  Run r;
  if (!p.waitForFinished(120000)) return r;
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

// Number of distinct colours in a coarse sample: an empty or failed frame has one or two.
int colours(const QImage& img) {
  QSet<QRgb> seen;
  for (int y = 0; y < img.height(); y += 7)
    for (int x = 0; x < img.width(); x += 7) seen.insert(img.pixel(x, y));
  return int(seen.size());
}

}  // namespace

class TstRenderViews : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat()); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    model_ = dir_.filePath(QStringLiteral("tiny"));
    bb::ui::writeRandomModel(model_, bb::ui::tinyGpt2Config(1024), 9);
  }

  void rendersEveryView_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("summary");
    QTest::newRow("pattern") << QStringList{"--render", "pattern", "--length", "2048", "--block", "32", "--random", "2"}
                             << "block pairs";
    QTest::newRow("document") << QStringList{"--render", "document", "--layer", "1", "--head", "2", "--token", "300"}
                              << "token 300";
    QTest::newRow("document rollout") << QStringList{"--render", "document", "--token", "50", "--rollout", "--attended-by"}
                                      << "token 50";
    QTest::newRow("sparse-vs-full") << QStringList{"--render", "sparse-vs-full", "--token", "120"} << "agreement";
    QTest::newRow("calculator") << QStringList{"--render", "calculator", "--length", "8192"} << "8192 tokens";
    QTest::newRow("tour step 1") << QStringList{"--render", "tour", "--step", "1"} << "step 1";
    QTest::newRow("tour step 5") << QStringList{"--render", "tour", "--step", "5", "--random", "1"} << "step 5";
  }

  void rendersEveryView() {
    QFETCH(QStringList, args);
    QFETCH(QString, summary);
    const QString out = dir_.filePath(QStringLiteral("view.png"));
    QFile::remove(out);
    args << "--out" << out << "--size" << "1000x700" << "--model" << model_ << "--document"
         << QStringLiteral(BIGBIRD_TEST_DATA "/../../resources/samples/pride-and-prejudice-ch1.txt");
    const Run r = studio(args);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(summary), qPrintable(r.out));
    const QImage img(out);
    QCOMPARE(img.size(), QSize(1000, 700));
    QVERIFY2(colours(img) > 12, "the image looks empty");
  }

  void writesSvgCsvAndJson() {
    for (const char* ext : {"svg", "csv", "json"}) {
      const QString out = dir_.filePath(QStringLiteral("doc.") + QLatin1String(ext));
      const Run r = studio({"--render", "document", "--out", out, "--model", model_, "--token", "10", "--document",
                            QStringLiteral(BIGBIRD_TEST_DATA "/../../resources/samples/pride-and-prejudice-ch1.txt")});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      QFile f(out);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray text = f.readAll();
      if (QLatin1String(ext) == QLatin1String("svg")) QVERIFY(text.contains("<svg") && text.contains("<image") && text.contains("<text"));
      if (QLatin1String(ext) == QLatin1String("csv")) QVERIFY(text.startsWith("layer,heads,query_block,key_block"));
      if (QLatin1String(ext) == QLatin1String("json")) QVERIFY(text.contains("\"top_k\"") && text.contains("\"token\": 10"));
    }
  }

  void rejectsBadRequests_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QTest::newRow("tour step out of range") << QStringList{"--render", "tour", "--step", "99"} << 2 << "--step";
    QTest::newRow("bad extension") << QStringList{"--render", "pattern", "--out", "x.bmp"} << 2 << ".png";
    QTest::newRow("missing model") << QStringList{"--render", "document", "--model", "/nonexistent/model"} << 1 << "/nonexistent/model";
    QTest::newRow("head out of range") << QStringList{"--render", "document", "--head", "9"} << 1 << "--head";
    QTest::newRow("token out of range") << QStringList{"--render", "document", "--token", "5000"} << 1 << "--token";
  }

  void rejectsBadRequests() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    if (!args.contains("--out")) args << "--out" << dir_.filePath(QStringLiteral("bad.png"));
    if (!args.contains("--model") && args.at(1) == "document") args << "--model" << model_;
    const Run r = studio(args);
    QCOMPARE(r.code, code);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    // One line of ours (Qt may add its own warnings, e.g. about XDG_RUNTIME_DIR).
    const QStringList ours = r.err.split('\n').filter(QRegularExpression(QStringLiteral("^bigbird-studio: ")));
    QCOMPARE(ours.size(), 1);
    QVERIFY2(ours.front().contains(message), qPrintable(ours.front()));
    QVERIFY(!QFile::exists(dir_.filePath(QStringLiteral("bad.png"))));
  }

 private:
  QTemporaryDir dir_;
  QString model_;
};

QTEST_MAIN(TstRenderViews)
#include "tst_render_views.moc"
