#include "app/gui/self_test.h"

#include <QApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QImage>
#include <QSet>
#include <QThread>
#include <cstdio>
#include <exception>
#include <functional>

#include "engine/models/bigbird_model.h"
#include "engine/tokenize/tokenizer.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/main_window.h"
#include "ui/tour_steps.h"

namespace bb::app {

namespace {

class SelfTest {
 public:
  // Runs one check; a check fails by throwing (any exception) or by returning a non-empty reason.
  void check(const QString& what, const std::function<QString()>& body) {
    QString failure;
    try {
      failure = body();
    } catch (const std::exception& e) {
      failure = QString::fromUtf8(e.what());
    } catch (...) {
      failure = QStringLiteral("unknown exception");
    }
    if (failure.isEmpty()) {
      std::printf("self-test: ok   %s\n", qPrintable(what));
    } else {
      std::fprintf(stderr, "self-test: FAIL %s: %s\n", qPrintable(what), qPrintable(failure));
      ++failures_;
    }
    std::fflush(stdout);
  }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

void processEventsFor(int ms) {
  QDeadlineTimer deadline(ms);
  while (!deadline.hasExpired()) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    QThread::msleep(5);
  }
}

// A rendered view is never a single flat colour: it has text, grid lines or a heatmap.
QString blankReason(const QImage& image) {
  if (image.isNull() || image.width() < 16 || image.height() < 16) return QStringLiteral("nothing was rendered");
  QSet<QRgb> colours;
  const QImage small = image.scaled(64, 64, Qt::IgnoreAspectRatio, Qt::FastTransformation).convertToFormat(QImage::Format_RGB32);
  for (int y = 0; y < small.height() && colours.size() < 3; ++y)
    for (int x = 0; x < small.width() && colours.size() < 3; ++x) colours.insert(small.pixel(x, y));
  return colours.size() < 3 ? QStringLiteral("the rendered %1x%2 image is blank").arg(image.width()).arg(image.height())
                            : QString();
}

QString fileMissing(const QString& path) {
  return QFileInfo(path).isFile() && QFileInfo(path).size() > 0 ? QString() : path + QStringLiteral(" is missing");
}

}  // namespace

int runSelfTest() {
  SelfTest t;
  std::printf("self-test: bigbird-studio %s, resources in %s\n", BIGBIRD_VERSION, qPrintable(ui::resourceDir()));

  for (const char* vocab : {"gpt2.model", "pegasus.model", "kobigbird-vocab.txt"})
    t.check(QStringLiteral("vocabulary %1").arg(QString::fromLatin1(vocab)),
            [&] { return fileMissing(ui::bundledVocab(QString::fromLatin1(vocab))); });
  t.check(QStringLiteral("the bundled tokenizer encodes text"), [] {
    auto tok = bb::tok::load_tokenizer(ui::bundledVocab(QStringLiteral("gpt2.model")).toStdString());
    return tok->encode("It is a truth universally acknowledged.").ids.size() > 3 ? QString() : QStringLiteral("no tokens");
  });
  t.check(QStringLiteral("sample documents"), [] {
    return QDir(ui::samplesDir()).entryList({QStringLiteral("*.txt")}, QDir::Files).isEmpty()
               ? ui::samplesDir() + QStringLiteral(" has no .txt sample")
               : QString();
  });
  t.check(QStringLiteral("tour steps"), [] { return ui::loadTourSteps().empty() ? QStringLiteral("no tour step") : QString(); });
  const QString model = ui::defaultModelDir();
  if (QFileInfo(model + QStringLiteral("/config.json")).isFile()) {
    t.check(QStringLiteral("bundled model loads"), [&] {
      const bb::BigBirdModel m = bb::BigBirdModel::load(model.toStdString());
      return m.config().num_hidden_layers > 0 ? QString() : QStringLiteral("no layers");
    });
  } else {
    std::printf("self-test: skip bundled model (not installed: %s)\n", qPrintable(model));
  }

  QString why;
  t.check(QStringLiteral("OpenGL 3.3"), [&] { return ui::ImGuiWidget::openGLAvailable(&why) ? QString() : why; });
  if (t.failures() == 0) {
    ui::LabOptions options;
    options.useSettings = false;  // a self-test must not read or change the user's session
    options.autoLoadModel = false;
    ui::MainWindow window(options);
    window.resize(1400, 900);
    window.show();
    processEventsFor(300);
    t.check(QStringLiteral("main window"), [&] { return window.isVisible() ? QString() : QStringLiteral("not shown"); });
    const QList<QDockWidget*> docks = window.findChildren<QDockWidget*>();
    t.check(QStringLiteral("docks"), [&] { return docks.isEmpty() ? QStringLiteral("the window has no dock") : QString(); });
    for (QDockWidget* dock : docks) {
      t.check(QStringLiteral("render %1").arg(dock->windowTitle()), [&] {
        dock->show();
        dock->raise();
        processEventsFor(50);
        if (auto* gl = qobject_cast<ui::ImGuiWidget*>(dock->widget())) {
          QImage image;
          for (int i = 0; i < 3; ++i) image = gl->grabFramebuffer();  // ImGui lays out on the first frames
          return blankReason(image);
        }
        return dock->widget() ? blankReason(dock->widget()->grab().toImage()) : QStringLiteral("the dock is empty");
      });
    }
    window.close();
  }
  if (t.failures()) {
    std::fprintf(stderr, "self-test: %d check(s) failed\n", t.failures());
    return 1;
  }
  std::printf("self-test: all checks passed\n");
  return 0;
}

}  // namespace bb::app
