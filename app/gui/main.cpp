// bigbird-studio: the desktop application. With --render it draws one view offscreen to a PNG
// and exits (docs screenshots, slides, tests). Exit codes: 0 success, 1 the machine failed (no
// OpenGL, unwritable file), 2 bad command line.
#include <QApplication>
#include <QCommandLineParser>
#include <QRegularExpression>
#include <QSurfaceFormat>
#include <cstdio>

#include "engine/attention/plan.h"
#include "engine/core/error.h"
#include "ui/imgui_widget.h"
#include "ui/main_window.h"
#include "ui/mask_config.h"
#include "ui/pattern_render.h"
#include "ui/qt_theme.h"

namespace {

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

int renderMain(const QCommandLineParser& p) {
  if (p.value(QStringLiteral("render")) != QStringLiteral("pattern"))
    throw bb::Error("--render: unknown view '" + p.value(QStringLiteral("render")).toStdString() +
                    "' (expected: pattern)");
  if (!p.isSet(QStringLiteral("out"))) throw bb::Error("--render needs --out FILE.png");
  bb::ui::MaskConfig c;
  c.seq_len = toInt(p, "length", int(c.seq_len));
  c.block = toInt(p, "block", c.block);
  c.num_random = toInt(p, "random", c.num_random);
  c.heads = toInt(p, "heads", c.heads);
  c.layer = toInt(p, "layer", c.layer);
  c.head = toInt(p, "head", c.head);
  if (p.isSet(QStringLiteral("mode")))
    c.mode = bb::attn::parse_random_blocks(p.value(QStringLiteral("mode")).toStdString());
  if (p.isSet(QStringLiteral("attention")))
    c.configured = bb::attn::parse_attention_type(p.value(QStringLiteral("attention")).toStdString());
  bb::ui::validate(c);
  bb::attn::plan_layer(bb::ui::to_request(c));  // a configuration the engine rejects is a usage error
  const QSize size = p.isSet(QStringLiteral("size")) ? parseSize(p.value(QStringLiteral("size"))) : QSize(1400, 850);

  // From here on failures are the machine's (no OpenGL, unwritable file): exit 1, not 2.
  const bb::ui::PatternRender r = bb::ui::renderPattern(c, size);
  try {
    if (!r.error.isEmpty()) throw bb::Error(r.error.toStdString());
    bb::ui::savePng(r.image, p.value(QStringLiteral("out")));
  } catch (const bb::Error& e) {
    std::fprintf(stderr, "bigbird-studio: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s (%dx%d): %s\n", p.value(QStringLiteral("out")).toLocal8Bit().constData(), r.image.width(),
              r.image.height(), r.summary.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat());  // before QApplication
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("BigBird Studio"));
  QApplication::setApplicationVersion(QStringLiteral(BIGBIRD_VERSION));
  QApplication::setOrganizationName(QStringLiteral("BigBird Studio"));

  QCommandLineParser p;
  p.setApplicationDescription(QStringLiteral("Explore BigBird sparse attention."));
  p.addHelpOption();
  p.addVersionOption();
  p.addOptions({
      {QStringLiteral("render"), QStringLiteral("Draw VIEW (pattern) offscreen to --out and exit."),
       QStringLiteral("view")},
      {QStringLiteral("out"), QStringLiteral("PNG file written by --render."), QStringLiteral("file")},
      {QStringLiteral("size"), QStringLiteral("Image size for --render (default 1400x850)."), QStringLiteral("WxH")},
      {QStringLiteral("length"), QStringLiteral("Input length in tokens (default 4096)."), QStringLiteral("L")},
      {QStringLiteral("block"), QStringLiteral("Block size (default 64)."), QStringLiteral("B")},
      {QStringLiteral("random"), QStringLiteral("Random blocks per query block (default 3)."), QStringLiteral("R")},
      {QStringLiteral("heads"), QStringLiteral("Attention heads (default 12)."), QStringLiteral("N")},
      {QStringLiteral("layer"), QStringLiteral("Layer index, the random seed (default 0)."), QStringLiteral("N")},
      {QStringLiteral("head"), QStringLiteral("Head shown (default 0)."), QStringLiteral("H")},
      {QStringLiteral("mode"), QStringLiteral("Random-block reference: tf, hf-train, hf-eval (default hf-train)."),
       QStringLiteral("mode")},
      {QStringLiteral("attention"), QStringLiteral("block_sparse, simulated_sparse or original_full."),
       QStringLiteral("type")},
  });
  if (!p.parse(QApplication::arguments())) {
    std::fprintf(stderr, "bigbird-studio: %s\n", qPrintable(p.errorText()));
    return 2;
  }
  if (p.isSet(QStringLiteral("help")) || p.isSet(QStringLiteral("help-all"))) p.showHelp(0);
  if (p.isSet(QStringLiteral("version"))) p.showVersion();

  try {
    if (p.isSet(QStringLiteral("render"))) return renderMain(p);
    if (!p.positionalArguments().isEmpty())
      throw bb::Error("unexpected argument '" + p.positionalArguments().first().toStdString() + "'");
    bb::ui::applyDarkQtTheme(app);
    bb::ui::MainWindow window;
    window.resize(1400, 900);
    window.show();
    return app.exec();
  } catch (const bb::Error& e) {
    std::fprintf(stderr, "bigbird-studio: %s\n", e.what());
    return 2;
  }
}
