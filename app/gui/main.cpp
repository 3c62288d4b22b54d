// bigbird-studio: the desktop application. With --render it draws one view offscreen to a file
// and exits (docs screenshots, slides, tests); with --benchmark it measures the UI's performance;
// --self-test checks an installation (resources, OpenGL, every dock renders) and exits.
// Exit codes: 0 success, 1 the machine failed (no OpenGL, unwritable file, missing model),
// 2 bad command line.
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSurfaceFormat>
#include <QTimer>
#include <cstdio>

#include "engine/attention/plan.h"
#include "engine/backend/vulkan/vk_release.h"
#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "app/gui/self_test.h"
#include "ui/app_dirs.h"
#include "ui/error_report.h"
#include "ui/imgui_widget.h"
#include "ui/lab_benchmark.h"
#include "ui/main_window.h"
#include "ui/mask_config.h"
#include "ui/pattern_render.h"
#include "ui/qt_theme.h"
#include "ui/view_render.h"

namespace {

// An exception escaping an event handler would end the process: report it and keep running.
class StudioApplication : public QApplication {
 public:
  using QApplication::QApplication;
  bool notify(QObject* receiver, QEvent* event) override {
    try {
      return QApplication::notify(receiver, event);
    } catch (const std::exception& e) {
      report(QString::fromUtf8(e.what()));
    } catch (...) {
      report(QStringLiteral("unknown error (a non-standard exception)"));
    }
    return false;
  }

 private:
  void report(const QString& error) {
    std::fprintf(stderr, "bigbird-studio: unexpected error: %s\n", qPrintable(error));
    bb::ui::showErrorReport(activeWindow(), QStringLiteral("The user interface"), error);
  }
};

int toInt(const QCommandLineParser& p, const char* name, int fallback) {
  if (!p.isSet(QString::fromLatin1(name))) return fallback;
  bool ok = false;
  const int v = p.value(QString::fromLatin1(name)).toInt(&ok);
  if (!ok) throw bb::Error(std::string("--") + name + ": '" + p.value(QString::fromLatin1(name)).toStdString() +
                           "' is not an integer");
  return v;
}

QSize parseSize(const QString& text) {
  static const QRegularExpression re(QStringLiteral("^(\\d{1,5})x(\\d{1,5})$"));
  const auto m = re.match(text);
  const int w = m.hasMatch() ? m.captured(1).toInt() : 0, h = m.hasMatch() ? m.captured(2).toInt() : 0;
  if (w < 64 || h < 64 || w > 8192 || h > 8192)
    throw bb::Error("--size: '" + text.toStdString() + "' is not WIDTHxHEIGHT with both in 64..8192");
  return {w, h};
}

void writeText(const QString& path, const std::string& text) {
  bb::io::write_file_atomic(path.toStdString(),
                            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

int renderMain(const QCommandLineParser& p) {
  bb::ui::RenderRequest req;
  req.view = p.value(QStringLiteral("render"));
  if (!bb::ui::renderableViews().contains(req.view))
    throw bb::Error("--render: unknown view '" + req.view.toStdString() +
                    "' (expected: " + bb::ui::renderableViews().join(QStringLiteral(", ")).toStdString() + ")");
  if (!p.isSet(QStringLiteral("out"))) throw bb::Error("--render needs --out FILE (.png, .svg, .csv or .json)");
  const QString out = p.value(QStringLiteral("out"));
  const QString kind = QFileInfo(out).suffix().toLower();
  if (!QStringList{"png", "svg", "csv", "json"}.contains(kind))
    throw bb::Error("--out: '" + out.toStdString() + "' must end in .png, .svg, .csv or .json");

  bb::ui::MaskConfig& c = req.pattern;
  req.patternGiven = p.isSet(QStringLiteral("length")) || p.isSet(QStringLiteral("block")) || p.isSet(QStringLiteral("random"));
  c.seq_len = toInt(p, "length", int(c.seq_len));
  c.block = toInt(p, "block", c.block);
  c.num_random = toInt(p, "random", c.num_random);
  c.heads = toInt(p, "heads", c.heads);
  c.layer = toInt(p, "layer", c.layer);
  if (p.isSet(QStringLiteral("mode")))
    c.mode = bb::attn::parse_random_blocks(p.value(QStringLiteral("mode")).toStdString());
  if (p.isSet(QStringLiteral("attention")))
    c.configured = bb::attn::parse_attention_type(p.value(QStringLiteral("attention")).toStdString());
  const bool modelView = req.view == QStringLiteral("document") || req.view == QStringLiteral("sparse-vs-full");
  if (modelView) {
    req.head = p.value(QStringLiteral("head"));
    req.layer = toInt(p, "layer", -1);
  } else {
    c.head = toInt(p, "head", c.head);
  }
  req.modelDir = p.value(QStringLiteral("model"));
  req.document = p.value(QStringLiteral("document"));
  req.token = toInt(p, "token", -1);
  req.step = toInt(p, "step", 1);
  req.rollout = p.isSet(QStringLiteral("rollout"));
  req.attendedBy = p.isSet(QStringLiteral("attended-by"));
  if (req.view == QStringLiteral("pattern") || req.view == QStringLiteral("tour") || req.patternGiven) {
    bb::ui::validate(c);
    if (req.view == QStringLiteral("pattern")) bb::attn::plan_layer(bb::ui::to_request(c));  // the engine refuses: usage error
  }
  req.size = p.isSet(QStringLiteral("size")) ? parseSize(p.value(QStringLiteral("size"))) : QSize(1400, 850);

  // From here on most failures are the machine's (no OpenGL, missing model, unwritable file): exit 1.
  const bb::ui::RenderResult r = bb::ui::renderView(req, kind == QStringLiteral("svg"));
  try {
    if (!r.error.isEmpty()) {
      std::fprintf(stderr, "bigbird-studio: %s\n", qPrintable(r.error));
      return r.usageError ? 2 : 1;
    }
    if (kind == QStringLiteral("png")) bb::ui::savePng(r.image, out);
    else if (kind == QStringLiteral("svg")) writeText(out, r.svg);
    else {
      const std::string& text = kind == QStringLiteral("csv") ? r.csv : r.json;
      if (text.empty()) throw bb::Error("the " + req.view.toStdString() + " view has no " + kind.toStdString() + " export");
      writeText(out, text);
    }
  } catch (const bb::Error& e) {
    std::fprintf(stderr, "bigbird-studio: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s (%dx%d): %s\n", out.toLocal8Bit().constData(), r.image.width(), r.image.height(), r.summary.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bb::vk::DeviceReleaseGuard release_devices_on_return;  // after the window and its jobs are gone
  QElapsedTimer sinceStart;
  sinceStart.start();
  QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat());  // before QApplication
  StudioApplication app(argc, argv);
  bb::ui::useXdgSettings();  // ~/.config/bigbird-studio/bigbird-studio.conf
  QApplication::setApplicationVersion(QStringLiteral(BIGBIRD_VERSION));

  QCommandLineParser p;
  p.setApplicationDescription(QStringLiteral("Explore BigBird sparse attention: patterns, real attention on documents, "
                                             "sparse vs full, costs, and a guided tour."));
  p.addHelpOption();
  p.addVersionOption();
  p.addOptions({
      {QStringLiteral("render"),
       QStringLiteral("Draw VIEW offscreen to --out and exit: pattern, document, sparse-vs-full, calculator, tour."),
       QStringLiteral("view")},
      {QStringLiteral("out"), QStringLiteral("File written by --render: .png or .svg (the view), .csv or .json (its numbers)."),
       QStringLiteral("file")},
      {QStringLiteral("size"), QStringLiteral("Image size for --render in device pixels (default 1400x850)."), QStringLiteral("WxH")},
      {QStringLiteral("model"), QStringLiteral("Model directory (config.json + model.safetensors; default: the bundled model)."),
       QStringLiteral("dir")},
      {QStringLiteral("document"), QStringLiteral("Text file to open (default for --render: the bundled sample)."),
       QStringLiteral("file")},
      {QStringLiteral("length"), QStringLiteral("Input length in tokens (default 4096)."), QStringLiteral("L")},
      {QStringLiteral("block"), QStringLiteral("Block size (default 64)."), QStringLiteral("B")},
      {QStringLiteral("random"), QStringLiteral("Random blocks per query block (default 3)."), QStringLiteral("R")},
      {QStringLiteral("heads"), QStringLiteral("Attention heads of the pattern (default 12)."), QStringLiteral("N")},
      {QStringLiteral("layer"), QStringLiteral("Layer (pattern: the random seed, default 0; document: default the last)."),
       QStringLiteral("N")},
      {QStringLiteral("head"), QStringLiteral("Head shown (document views also take mean or max; default 0 / mean)."),
       QStringLiteral("H")},
      {QStringLiteral("token"), QStringLiteral("Selected token of the document views (default: one in the middle)."),
       QStringLiteral("I")},
      {QStringLiteral("rollout"), QStringLiteral("Document view: show the attention rollout of the token.")},
      {QStringLiteral("attended-by"), QStringLiteral("Document view: show what attends to the token.")},
      {QStringLiteral("step"), QStringLiteral("Tour step for --render tour (1-based, default 1)."), QStringLiteral("K")},
      {QStringLiteral("mode"), QStringLiteral("Random-block reference: tf, hf-train, hf-eval (default hf-train)."),
       QStringLiteral("mode")},
      {QStringLiteral("attention"), QStringLiteral("block_sparse, simulated_sparse or original_full."), QStringLiteral("type")},
      {QStringLiteral("benchmark"), QStringLiteral("Measure start-up, frame times and UI stalls, print them and exit.")},
      {QStringLiteral("first-frame"), QStringLiteral("Print the milliseconds from start to the first frame and exit (benchmark probe).")},
      {QStringLiteral("fresh"), QStringLiteral("Ignore saved settings (layout, model, document) for this run.")},
      {QStringLiteral("self-test"),
       QStringLiteral("Check this installation (resources, OpenGL, every view renders once), print the results and exit "
                      "(0 = all passed).")},
  });
  p.addPositionalArgument(QStringLiteral("document"), QStringLiteral("A document to open (same as --document)."),
                          QStringLiteral("[document]"));
  if (!p.parse(QApplication::arguments())) {
    std::fprintf(stderr, "bigbird-studio: %s\n", qPrintable(p.errorText()));
    return 2;
  }
  if (p.isSet(QStringLiteral("help")) || p.isSet(QStringLiteral("help-all"))) p.showHelp(0);
  if (p.isSet(QStringLiteral("version"))) p.showVersion();

  try {
    if (p.isSet(QStringLiteral("render"))) return renderMain(p);
    if (p.isSet(QStringLiteral("self-test"))) return bb::app::runSelfTest();
    const QStringList positional = p.positionalArguments();
    if (positional.size() > 1 || (positional.size() == 1 && p.isSet(QStringLiteral("document"))))
      throw bb::Error("unexpected argument '" + positional.last().toStdString() + "' (one document at most)");
    if (p.isSet(QStringLiteral("benchmark"))) {
      bb::ui::BenchmarkOptions o;
      o.modelDir = p.value(QStringLiteral("model"));
      o.document = p.value(QStringLiteral("document"));
      o.executable = QApplication::applicationFilePath();
      return bb::ui::runLabBenchmark(o);
    }
    bb::ui::applyDarkQtTheme(app);
    bb::ui::LabOptions options;
    options.modelDir = p.value(QStringLiteral("model"));
    options.document = positional.isEmpty() ? p.value(QStringLiteral("document")) : positional.first();
    options.useSettings = !p.isSet(QStringLiteral("fresh")) && !p.isSet(QStringLiteral("first-frame"));
    bb::ui::MainWindow window(options);
    window.resize(1400, 900);
    if (p.isSet(QStringLiteral("first-frame"))) {
      if (bb::ui::ImGuiWidget* w = window.imguiWidget())
        QObject::connect(w, &bb::ui::ImGuiWidget::frameRendered, &app, [&] {
          std::printf("first-frame-ms %.1f\n", double(sinceStart.nsecsElapsed()) * 1e-6);
          std::fflush(stdout);
          QTimer::singleShot(0, &app, &QApplication::quit);
        });
    }
    window.show();
    return app.exec();
  } catch (const bb::Error& e) {
    std::fprintf(stderr, "bigbird-studio: %s\n", e.what());
    return 2;
  }
}
