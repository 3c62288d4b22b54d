// The attention mask view, end to end under Xvfb: the real main window renders through OpenGL,
// the framebuffer is read back, and every cell centre must have the colour of the engine's grid.
// Input goes through real Qt events (QTest), including a press and release inside one frame.
#include <imgui.h>

#include <QMouseEvent>
#include <QProcess>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <memory>

#include "engine/attention/plan.h"
#include "ui/imgui_qt_input.h"
#include "ui/imgui_widget.h"
#include "ui/main_window.h"
#include "ui/mask_colours.h"
#include "ui/mask_view.h"
#include "ui/pattern_render.h"

using bb::attn::AttentionType;
using bb::attn::BlockKind;
using bb::attn::RandomBlocks;
using bb::ui::MaskConfig;

Q_DECLARE_METATYPE(MaskConfig)

namespace {

MaskConfig config(int64_t len, int block, int r, int heads, int layer, int head, RandomBlocks mode,
                  AttentionType type = AttentionType::BlockSparse) {
  MaskConfig c;
  c.seq_len = len;
  c.block = block;
  c.num_random = r;
  c.heads = heads;
  c.layer = layer;
  c.head = head;
  c.mode = mode;
  c.configured = type;
  return c;
}

QString rgb(QColor c) { return QStringLiteral("(%1,%2,%3)").arg(c.red()).arg(c.green()).arg(c.blue()); }

// Compares the pixel at every cell centre with the colour of the engine's grid for `c`.
// Returns an empty string when all match, else the first mismatches.
QString compareCells(const QImage& image, const bb::ui::MaskGridGeometry& g, float dpr, const MaskConfig& c) {
  const bb::attn::LayerPattern lp = bb::attn::plan_layer(bb::ui::to_request(c));
  const bool full = lp.decision.type == AttentionType::OriginalFull;
  const int nb = full ? int((c.seq_len + c.block - 1) / c.block) : lp.pattern.num_blocks();
  if (g.num_blocks != nb) return QStringLiteral("grid has %1 blocks, engine %2").arg(g.num_blocks).arg(nb);
  if (g.full_attention != full) return QStringLiteral("full-attention flag differs from the engine decision");
  if (g.cell < 4.0f) return QStringLiteral("cells of %1 px are too small to sample").arg(g.cell);
  const std::vector<BlockKind> grid = full ? std::vector<BlockKind>(size_t(nb) * nb, BlockKind::NotComputed)
                                           : lp.pattern.grid(c.head);
  QStringList bad;
  int mismatches = 0;
  for (int q = 0; q < nb; ++q)
    for (int k = 0; k < nb; ++k) {
      const int x = int((g.x0 + (float(k) + 0.5f) * g.cell) * dpr);
      const int y = int((g.y0 + (float(q) + 0.5f) * g.cell) * dpr);
      if (!image.rect().contains(x, y)) return QStringLiteral("cell (%1,%2) lies outside the image").arg(q).arg(k);
      const BlockKind kind = grid[size_t(q) * nb + k];
      const bb::ui::Rgb want = bb::ui::mask_cell_colour(kind, full);
      const QColor got = image.pixelColor(x, y);
      if (got != QColor(want.r, want.g, want.b)) {
        if (++mismatches <= 5)
          bad << QStringLiteral("cell q=%1 k=%2 (%3): expected %4, got %5")
                     .arg(q)
                     .arg(k)
                     .arg(QString::fromLatin1(bb::attn::to_string(kind)))
                     .arg(rgb(QColor(want.r, want.g, want.b)), rgb(got));
      }
    }
  if (mismatches == 0) return {};
  return QStringLiteral("%1 of %2 cells differ: ").arg(mismatches).arg(nb * nb) + bad.join(QStringLiteral("; "));
}

}  // namespace

class TstMaskView : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(bb::ui::ImGuiWidget::surfaceFormat()); }

 private slots:
  void initTestCase();
  void cleanupTestCase() { window_.reset(); }
  void init() {  // every test starts from the default view, unzoomed
    view()->setConfig(MaskConfig{});
    view()->resetZoom();
  }
  void startsOnEmbeddedDefault();
  void inputAdapterKeepsPressAndReleaseOfOneFrame();
  void cellsMatchEngineGrid_data();
  void cellsMatchEngineGrid();
  void clickSelectsReferenceMode();
  void clickSelectsBlockSize();
  void typingSetsLength();
  void zoomButtonsScaleTheGrid();
  void idleWidgetStopsRendering();
  void renderCommandWritesRequestedPng();
  void renderCommandRejectsBadInput_data();
  void renderCommandRejectsBadInput();

 private:
  QImage frames(int n = 3) {
    QImage img;
    for (int i = 0; i < n; ++i) img = widget()->grabFramebuffer();
    return img;
  }
  bb::ui::ImGuiWidget* widget() const { return window_->imguiWidget(); }
  bb::ui::MaskView* view() const { return window_->maskView(); }
  // The pointer leaves every control (no tooltip over the grid). The event also goes straight to
  // the widget: QTest::mouseMove alone does not always reach a widget inside a dock.
  void moveMouseAway() {
    QTest::mouseMove(widget(), QPoint(3, 3));
    QMouseEvent e(QEvent::MouseMove, QPointF(3, 3), widget()->mapToGlobal(QPointF(3, 3)), Qt::NoButton, Qt::NoButton,
                  Qt::NoModifier);
    QCoreApplication::sendEvent(widget(), &e);
  }
  void clickControl(const std::string& id, Qt::KeyboardModifiers mods = {}) {
    const QRectF r = view()->controlRect(id);
    QVERIFY2(!r.isEmpty(), id.c_str());
    QTest::mouseClick(widget(), Qt::LeftButton, mods, r.center().toPoint());  // press + release, no frame between
  }

  std::unique_ptr<bb::ui::MainWindow> window_;
};

void TstMaskView::initTestCase() {
  QString why;
  QVERIFY2(bb::ui::ImGuiWidget::openGLAvailable(&why), qPrintable(why));
  window_ = std::make_unique<bb::ui::MainWindow>();
  QVERIFY(widget() && view());
  window_->resize(1400, 900);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  QVERIFY(!frames(1).isNull());
}

void TstMaskView::startsOnEmbeddedDefault() {
  const MaskConfig& c = view()->config();
  QCOMPARE(c.seq_len, 4096);
  QCOMPARE(c.block, 64);
  QCOMPARE(c.num_random, 3);
  QCOMPARE(c.heads, 12);
  QCOMPARE(c.mode, RandomBlocks::HFTrain);
  QCOMPARE(window_->windowTitle(), QStringLiteral("BigBird Studio"));
  moveMouseAway();
  const QString diff = compareCells(frames(), view()->gridGeometry(), float(widget()->devicePixelRatioF()), c);
  QVERIFY2(diff.isEmpty(), qPrintable(diff));
}

// ImGui 1.86 samples MouseDown/KeysDown once per NewFrame(): a press and release that arrive before
// the next frame must still show up as a click (frame 1) and a release (frame 2).
void TstMaskView::inputAdapterKeepsPressAndReleaseOfOneFrame() {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  ImGuiContext* ctx = ImGui::CreateContext();
  ImGui::SetCurrentContext(ctx);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.DisplaySize = ImVec2(200, 200);
  unsigned char* pixels = nullptr;
  int w = 0, h = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
  {
    bb::ui::ImGuiQtInput input(ctx);
    QMouseEvent press(QEvent::MouseButtonPress, QPointF(10, 20), QPointF(10, 20), Qt::LeftButton, Qt::LeftButton,
                      Qt::NoModifier);
    QMouseEvent release(QEvent::MouseButtonRelease, QPointF(10, 20), QPointF(10, 20), Qt::LeftButton, Qt::NoButton,
                        Qt::NoModifier);
    QKeyEvent keyDown(QEvent::KeyPress, Qt::Key_Backspace, Qt::NoModifier);
    QKeyEvent keyUp(QEvent::KeyRelease, Qt::Key_Backspace, Qt::NoModifier);
    QKeyEvent typed(QEvent::KeyPress, Qt::Key_A, Qt::NoModifier, QStringLiteral("a"));
    QVERIFY(input.handle(&press) && input.handle(&release));
    QVERIFY(input.handle(&keyDown) && input.handle(&keyUp) && input.handle(&typed));
    QCOMPARE(io.InputQueueCharacters.Size, 1);
    QVERIFY(input.hasPendingInput());

    ImGui::NewFrame();
    QVERIFY(ImGui::IsMouseClicked(ImGuiMouseButton_Left));
    QCOMPARE(io.MousePos.x, 10.0f);
    QCOMPARE(io.MousePos.y, 20.0f);
    QVERIFY(ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Backspace)));
    input.afterNewFrame();
    QVERIFY(!input.hasPendingInput());
    ImGui::EndFrame();

    ImGui::NewFrame();
    QVERIFY(ImGui::IsMouseReleased(ImGuiMouseButton_Left));
    QVERIFY(!ImGui::IsMouseDown(ImGuiMouseButton_Left));
    QVERIFY(!ImGui::IsKeyDown(ImGui::GetKeyIndex(ImGuiKey_Backspace)));
    input.afterNewFrame();
    ImGui::EndFrame();
  }
  ImGui::DestroyContext(ctx);
  ImGui::SetCurrentContext(previous);
}

void TstMaskView::cellsMatchEngineGrid_data() {
  QTest::addColumn<MaskConfig>("config");
  QTest::addColumn<bool>("expectFull");
  QTest::addColumn<bool>("expectRandomCells");
  QTest::newRow("hf-train L1024 b64 r3 4 heads layer1 head2")
      << config(1024, 64, 3, 4, 1, 2, RandomBlocks::HFTrain) << false << true;
  QTest::newRow("hf-eval L1024 b64 r3 4 heads layer1 head2")
      << config(1024, 64, 3, 4, 1, 2, RandomBlocks::HFEval) << false << false;
  QTest::newRow("tf L2048 b32 r2 layer5 head3") << config(2048, 32, 2, 4, 5, 3, RandomBlocks::TF) << false << true;
  QTest::newRow("hf-train L3000 (padded) b64 r4 layer7")
      << config(3000, 64, 4, 12, 7, 11, RandomBlocks::HFTrain) << false << true;
  QTest::newRow("fallback L512 b64 r3") << config(512, 64, 3, 4, 1, 2, RandomBlocks::HFTrain) << true << false;
  QTest::newRow("original_full L1024")
      << config(1024, 64, 3, 4, 1, 2, RandomBlocks::HFTrain, AttentionType::OriginalFull) << true << false;
}

void TstMaskView::cellsMatchEngineGrid() {
  QFETCH(MaskConfig, config);
  QFETCH(bool, expectFull);
  QFETCH(bool, expectRandomCells);
  view()->setConfig(config);
  moveMouseAway();
  const QImage image = frames();
  const bb::ui::MaskGridGeometry g = view()->gridGeometry();
  QCOMPARE(g.full_attention, expectFull);

  // The configurations must exercise what they claim (a test that cannot see random cells could
  // not catch a wrong random colour).
  if (!expectFull) {
    const auto grid = view()->layerPattern().pattern.grid(config.head);
    const auto count = [&](BlockKind k) { return std::count(grid.begin(), grid.end(), k); };
    QVERIFY(count(BlockKind::Global) > 0 && count(BlockKind::Window) > 0 && count(BlockKind::NotComputed) > 0);
    QCOMPARE(count(BlockKind::Random) > 0, expectRandomCells);
  } else {
    QVERIFY2(view()->summary().find("full attention") != std::string::npos, view()->summary().c_str());
  }
  const QString diff = compareCells(image, g, float(widget()->devicePixelRatioF()), config);
  QVERIFY2(diff.isEmpty(), qPrintable(diff));
}

void TstMaskView::clickSelectsReferenceMode() {
  view()->setConfig(MaskConfig{});
  frames();
  clickControl("mode:hf-eval");
  frames();
  QCOMPARE(view()->config().mode, RandomBlocks::HFEval);
  clickControl("mode:tf");
  frames();
  QCOMPARE(view()->config().mode, RandomBlocks::TF);
}

void TstMaskView::clickSelectsBlockSize() {
  view()->setConfig(MaskConfig{});
  frames();
  clickControl("block:32");
  frames();
  QCOMPARE(view()->config().block, 32);
  QCOMPARE(view()->gridGeometry().num_blocks, 128);
}

// Ctrl+click turns the length slider into a text field; Backspace is one press+release.
void TstMaskView::typingSetsLength() {
  view()->setConfig(MaskConfig{});
  frames();
  clickControl("length", Qt::ControlModifier);
  frames();
  QTest::keyClicks(widget(), QStringLiteral("20480"));
  frames(2);
  QTest::keyClick(widget(), Qt::Key_Backspace);
  frames(2);
  QTest::keyClick(widget(), Qt::Key_Return);
  frames();
  QCOMPARE(view()->config().seq_len, 2048);
  QCOMPARE(view()->gridGeometry().num_blocks, 32);
}

void TstMaskView::zoomButtonsScaleTheGrid() {
  view()->setConfig(config(1024, 64, 3, 4, 1, 2, RandomBlocks::HFTrain));
  frames();
  const float fit = view()->gridGeometry().cell;
  clickControl("zoom:in");
  frames();
  clickControl("zoom:in");
  frames();
  QVERIFY2(view()->gridGeometry().cell >= 2.0f * fit, qPrintable(QString::number(view()->gridGeometry().cell)));
  moveMouseAway();
  // Zoomed in, only part of the grid is visible; every visible cell centre must still be right.
  const QImage image = frames();
  const auto g = view()->gridGeometry();
  const auto grid = view()->layerPattern().pattern.grid(2);
  const QRect canvas = QRect(QPoint(int(g.x0), int(g.y0)), QSize(200, 200));
  int checked = 0;
  for (int q = 0; q < g.num_blocks; ++q)
    for (int k = 0; k < g.num_blocks; ++k) {
      const QPoint c(int(g.x0 + (float(k) + 0.5f) * g.cell), int(g.y0 + (float(q) + 0.5f) * g.cell));
      if (!canvas.contains(c)) continue;
      const bb::ui::Rgb want = bb::ui::mask_cell_colour(grid[size_t(q) * g.num_blocks + k]);
      QCOMPARE(image.pixelColor(c), QColor(want.r, want.g, want.b));
      ++checked;
    }
  QVERIFY(checked > 0);
  clickControl("zoom:fit");
  frames();
  QCOMPARE(view()->gridGeometry().cell, fit);
}

void TstMaskView::idleWidgetStopsRendering() {
  view()->setConfig(MaskConfig{});
  moveMouseAway();
  QTRY_VERIFY_WITH_TIMEOUT(widget()->isIdle(), 3000);
  const int before = widget()->frameCount();
  QTest::qWait(300);
  QCOMPARE(widget()->frameCount(), before);
  QTest::mouseMove(widget(), QPoint(700, 400));
  QTRY_VERIFY_WITH_TIMEOUT(widget()->frameCount() > before, 3000);
}

void TstMaskView::renderCommandWritesRequestedPng() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const QString out = dir.filePath(QStringLiteral("pattern.png"));
  // --size is in device pixels; keep the layout roomy on a HiDPI display.
  const int scale = int(std::ceil(widget()->devicePixelRatioF()));
  const QSize size(900 * scale, 700 * scale);
  const QString sizeArg = QStringLiteral("%1x%2").arg(size.width()).arg(size.height());
  QProcess p;
  p.start(QStringLiteral(BIGBIRD_STUDIO),
          {"--render", "pattern", "--out", out, "--length", "1024", "--block", "64", "--random", "3", "--heads", "4",
           "--layer", "1", "--head", "2", "--mode", "hf-train", "--size", sizeArg});
  QVERIFY(p.waitForFinished(60000));
  QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
  const QImage png(out);
  QCOMPARE(png.size(), size);

  // In-process render of the same view: the same pixels, and the cells match the engine.
  const MaskConfig c = config(1024, 64, 3, 4, 1, 2, RandomBlocks::HFTrain);
  const bb::ui::PatternRender r = bb::ui::renderPattern(c, size);
  QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
  QVERIFY(png.convertToFormat(QImage::Format_RGB32) == r.image);
  const QString diff = compareCells(png, r.grid, r.devicePixelRatio, c);
  QVERIFY2(diff.isEmpty(), qPrintable(diff));
}

void TstMaskView::renderCommandRejectsBadInput_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<QString>("message");
  QTest::newRow("no --out") << QStringList{"--render", "pattern"} << "--out";
  QTest::newRow("unknown option") << QStringList{"--render", "pattern", "--out", "@OUT@", "--lenght", "9"} << "lenght";
  QTest::newRow("unknown view") << QStringList{"--render", "heatmap", "--out", "@OUT@"} << "heatmap";
  QTest::newRow("block 0") << QStringList{"--render", "pattern", "--out", "@OUT@", "--block", "0"} << "block";
  QTest::newRow("not a number") << QStringList{"--render", "pattern", "--out", "@OUT@", "--length", "4k"} << "length";
  QTest::newRow("bad mode") << QStringList{"--render", "pattern", "--out", "@OUT@", "--mode", "hf"} << "hf";
  QTest::newRow("head >= heads") << QStringList{"--render", "pattern", "--out", "@OUT@", "--heads", "4", "--head", "4"}
                                 << "head";
  QTest::newRow("bad size") << QStringList{"--render", "pattern", "--out", "@OUT@", "--size", "10x10"} << "size";
  QTest::newRow("engine cannot plan") << QStringList{"--render", "pattern", "--out", "@OUT@", "--length", "640",
                                                     "--block", "128", "--mode", "tf"}
                                      << "too short";
}

void TstMaskView::renderCommandRejectsBadInput() {
  QFETCH(QStringList, args);
  QFETCH(QString, message);
  QTemporaryDir dir;
  const QString out = dir.filePath(QStringLiteral("x.png"));
  args.replaceInStrings(QStringLiteral("@OUT@"), out);
  QProcess p;
  p.start(QStringLiteral(BIGBIRD_STUDIO), args);
  QVERIFY(p.waitForFinished(60000));
  QCOMPARE(p.exitStatus(), QProcess::NormalExit);
  QCOMPARE(p.exitCode(), 2);
  const QString err = QString::fromUtf8(p.readAllStandardError());
  QVERIFY2(err.contains(message), qPrintable(err));
  QVERIFY(!QFile::exists(out));
}

QTEST_MAIN(TstMaskView)
#include "tst_mask_view.moc"
