#include "ui/lab_benchmark.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMouseEvent>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "engine/core/thread_pool.h"
#include "ui/document_view.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/mask_view.h"
#include "ui/task_manager.h"
#include "ui/token_view.h"

namespace bb::ui {

namespace {

struct Stats {
  double mean = 0, p50 = 0, p95 = 0, max = 0;
  int n = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = int(v.size());
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  s.p50 = v[v.size() / 2];
  s.p95 = v[std::min(v.size() - 1, size_t(std::ceil(0.95 * double(v.size()))) - 1)];
  s.max = v.back();
  return s;
}

void report(const char* what, const Stats& s, const char* unit = "ms") {
  std::printf("%-52s mean %7.2f  p50 %7.2f  p95 %7.2f  max %7.2f %s  (n=%d)\n", what, s.mean, s.p50, s.p95, s.max, unit, s.n);
  std::fflush(stdout);
}

void pump(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    QThread::msleep(1);
  }
}

void sendMove(QWidget* w, QPointF p) {
  QMouseEvent e(QEvent::MouseMove, p, w->mapToGlobal(p), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QCoreApplication::sendEvent(w, &e);
}

// Renders `frames` frames of `w` while the mouse sweeps across `area`; returns the UI-thread time
// of each frame (paintGL including glFinish, so the GL work is counted too).
std::vector<double> frameTimes(ImGuiWidget* w, QRectF area, int frames, bool wheel = false, bool finish = true) {
  w->setFinishFrames(finish);
  std::vector<double> out;
  for (int i = 0; i < frames; ++i) {
    const double t = double(i) / std::max(1, frames - 1);
    const QPointF p(area.left() + area.width() * t, area.top() + area.height() * (0.5 + 0.45 * std::sin(t * 12.0)));
    sendMove(w, p);
    if (wheel) {
      QWheelEvent e(p, w->mapToGlobal(p), QPoint(), QPoint(0, i % 20 < 10 ? -120 : 120), Qt::NoButton, Qt::NoModifier,
                    Qt::NoScrollPhase, false);
      QCoreApplication::sendEvent(w, &e);
    }
    const int before = w->frameCount();
    w->repaint();
    if (w->frameCount() == before) {
      QElapsedTimer guard;
      guard.start();
      while (w->frameCount() == before && guard.elapsed() < 500) QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    out.push_back(w->lastFrameMs());
  }
  return out;
}

}  // namespace

int runLabBenchmark(const BenchmarkOptions& o) {
  std::printf("BigBird Studio UI benchmark — Qt %s, %d engine threads\n", qVersion(), bb::num_threads());

  // 1. Cold start: fresh processes until their first frame.
  std::vector<double> wall, inProcess;
  for (int i = 0; i < o.startRuns; ++i) {
    QProcess p;
    QElapsedTimer t;
    t.start();
    p.start(o.executable, {QStringLiteral("--first-frame"), QStringLiteral("--fresh")});
    if (!p.waitForStarted(10000)) {
      std::fprintf(stderr, "bigbird-studio: benchmark: cannot start %s\n", qPrintable(o.executable));
      return 1;
    }
    QByteArray line;
    while (!line.contains("first-frame-ms") && p.waitForReadyRead(20000)) line += p.readAllStandardOutput();
    const double ms = double(t.nsecsElapsed()) * 1e-6;
    p.waitForFinished(10000);
    const int at = line.indexOf("first-frame-ms");
    if (at < 0) {
      std::fprintf(stderr, "bigbird-studio: benchmark: the probe printed no first frame (%s)\n", p.readAllStandardError().constData());
      return 1;
    }
    wall.push_back(ms);
    inProcess.push_back(line.mid(at + 15).trimmed().split('\n').front().toDouble());
  }
  report("cold start: process launch -> first frame", stats(wall));
  report("cold start: main() -> first frame", stats(inProcess));

  // 2. The model and the document.
  QString modelDir = o.modelDir;
  QTemporaryDir tmp;
  if (modelDir.isEmpty() && QFileInfo(defaultModelDir() + QStringLiteral("/config.json")).exists()) modelDir = defaultModelDir();
  if (modelDir.isEmpty()) {
    bb::ModelConfig c = tinyGpt2Config(4096);
    c.hidden_size = 256;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.intermediate_size = 1024;
    c.block_size = 64;
    modelDir = tmp.filePath(QStringLiteral("small"));
    writeRandomModel(modelDir, c, 5);
    std::printf("model: random weights, hidden 256, 4 layers, 4 heads, block 64, r 3, 4096 positions (no bundled model found)\n");
  } else {
    std::printf("model: %s\n", qPrintable(modelDir));
  }
  const QString document = o.document.isEmpty() ? samplesDir() + QStringLiteral("/pride-and-prejudice-ch1-6.txt") : o.document;

  LabOptions lo;
  lo.useSettings = false;
  lo.autoLoadModel = false;
  MainWindow window(lo);
  window.resize(1400, 900);
  window.show();
  pump(300);
  if (!window.imguiWidget()) {
    std::fprintf(stderr, "bigbird-studio: benchmark: OpenGL is not available\n");
    return 1;
  }

  // 3. The pattern view at 4096 tokens (block 64): hover sweeps (tooltips), then zoomed to tokens.
  window.showDock(MainWindow::kPattern);
  MaskConfig pc;
  pc.seq_len = 4096;
  window.maskView()->setConfig(pc);
  pump(100);
  ImGuiWidget* pw = window.widgetOf(MainWindow::kPattern);
  const QRectF pr(pw->width() * 0.3, pw->height() * 0.1, pw->width() * 0.65, pw->height() * 0.85);
  report("pattern view, 4096 tokens, fit, hover: CPU", stats(frameTimes(pw, pr, o.frames, false, false)));
  const Stats pattern = stats(frameTimes(pw, pr, o.frames));
  report("pattern view, 4096 tokens, fit, hover: CPU + GL", pattern);
  window.maskView()->zoomToTokenSize(8.0f);
  report("pattern view, zoomed to tokens, hover: CPU", stats(frameTimes(pw, pr, o.frames, false, false)));
  const Stats patternZoom = stats(frameTimes(pw, pr, o.frames));
  report("pattern view, zoomed to tokens, hover: CPU + GL", patternZoom);
  window.maskView()->resetZoom();

  // 4. The model on the document: the longest UI-thread stall while the forward pass runs.
  window.session()->loadModel(modelDir);
  if (!window.tasks()->waitForIdle(600000) || !window.session()->model()) {
    std::fprintf(stderr, "bigbird-studio: benchmark: the model did not load: %s\n", qPrintable(window.session()->lastError()));
    return 1;
  }
  window.session()->setAutoRun(false);
  window.session()->openDocument(document);
  window.tasks()->waitForIdle(600000);
  const LabDocument* doc = window.session()->document();
  if (!doc) {
    std::fprintf(stderr, "bigbird-studio: benchmark: the document did not open: %s\n", qPrintable(window.session()->lastError()));
    return 1;
  }
  std::printf("document: %s, %lld tokens\n", qPrintable(doc->label), static_cast<long long>(doc->tokens()));
  window.showDock(MainWindow::kDocument);
  window.showDock(MainWindow::kText);
  ImGuiWidget* dw = window.widgetOf(MainWindow::kDocument);
  ImGuiWidget* tw = window.widgetOf(MainWindow::kText);
  // The event loop's longest gap while a task runs, with the user hovering (frames rendered) or
  // not. The paintGL time inside the longest gap is reported too: under a software GL
  // (llvmpipe) drawing a frame is itself CPU work on the UI thread.
  auto stallDuring = [&](const std::function<void()>& start, const QString& group, const char* what, bool hover,
                         int minMs = 0) {
    double longest = 0, paintInLongest = 0, paintSince = 0;
    int ticks = 0;
    QElapsedTimer clock, since;
    std::vector<QMetaObject::Connection> conns;
    for (ImGuiWidget* w : window.findChildren<ImGuiWidget*>())
      conns.push_back(QObject::connect(w, &ImGuiWidget::frameRendered, [&paintSince, w] { paintSince += w->lastFrameMs(); }));
    clock.start();
    since.start();
    start();
    QTimer timer;
    timer.setInterval(1);
    QObject::connect(&timer, &QTimer::timeout, [&] {
      const double gap = double(since.nsecsElapsed()) * 1e-6;
      if (gap > longest) {
        longest = gap;
        paintInLongest = paintSince;
      }
      since.restart();
      paintSince = 0;
      ++ticks;
      if (hover)  // a user reading the text meanwhile: every tick moves the mouse over it (a frame each)
        sendMove(tw, QPointF(tw->width() * 0.5, tw->height() * (0.5 + 0.3 * std::cos(ticks * 0.05))));
    });
    timer.start();
    while (window.tasks()->groupBusy(group) || window.tasks()->busy() || clock.elapsed() < minMs)
      QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    pump(50);  // the finish step runs on the UI thread: include it
    timer.stop();
    for (auto& c : conns) QObject::disconnect(c);
    std::printf("%-52s longest gap %7.2f ms (paintGL %6.2f ms of it) over %.2f s, %d ticks\n", what, longest, paintInLongest,
                double(clock.nsecsElapsed()) * 1e-9, ticks);
    std::fflush(stdout);
    return longest;
  };
  // Baseline: the same measurement with no task at all (what the machine's load alone costs).
  const double baseline = stallDuring([] {}, QStringLiteral("none"), "baseline: no task running, 3 s", false, 3000);
  stallDuring([&] { window.session()->runAttention(); }, QStringLiteral("attention"),
              "UI idle during the forward pass (capture)", false);
  const double stallAttention = stallDuring([&] { window.session()->runAttention(); }, QStringLiteral("attention"),
                                            "UI hovered during the forward pass (capture)", true);
  if (!window.session()->attention()) {
    std::fprintf(stderr, "bigbird-studio: benchmark: no attention: %s\n", qPrintable(window.session()->lastError()));
    return 1;
  }
  const int64_t token = doc->tokens() / 2;
  window.session()->selectToken(token);
  window.tokenView()->scrollToToken(token);
  pump(200);
  const double stallCompare = stallDuring([&] { window.session()->runComparison(true); }, QStringLiteral("compare"),
                                          "UI hovered during sparse vs full (two passes)", true);
  for (ImGuiWidget* w : {dw, tw}) w->setFinishFrames(false);

  // 5. Frame times of the document views at 4096 tokens.
  const QRectF dr(dw->width() * 0.3, dw->height() * 0.1, dw->width() * 0.65, dw->height() * 0.85);
  report("document heatmap, block level, hover: CPU", stats(frameTimes(dw, dr, o.frames, false, false)));
  const Stats heat = stats(frameTimes(dw, dr, o.frames));
  report("document heatmap, block level, hover: CPU + GL", heat);
  window.documentView()->setZoom(24.0f);
  window.documentView()->scrollTo(float(token) / 64.0f, float(token) / 64.0f);
  frameTimes(dw, dr, 3);
  report("document heatmap, zoomed to tokens, hover: CPU", stats(frameTimes(dw, dr, o.frames, false, false)));
  const Stats heatZoom = stats(frameTimes(dw, dr, o.frames));
  report("document heatmap, zoomed to tokens, hover: CPU + GL", heatZoom);
  const QRectF textArea(20, 60, tw->width() - 40, tw->height() - 80);
  report("document text, 4096 tokens, hover + scroll: CPU", stats(frameTimes(tw, textArea, o.frames, true, false)));
  const Stats text = stats(frameTimes(tw, textArea, o.frames, true));
  report("document text, 4096 tokens, hover + scroll: CPU + GL", text);
  AttentionSelection s = window.session()->selection();
  s.rollout = true;
  const double stallRollout = stallDuring([&] { window.session()->setSelection(s); }, QStringLiteral("rollout"),
                                          "UI hovered during attention rollout", true);

  const Stats cold = stats(wall);
  std::printf("{\"cold_start_ms\": %.1f, \"cold_start_max_ms\": %.1f, \"pattern_frame_p95_ms\": %.2f, \"pattern_zoomed_p95_ms\": %.2f, "
              "\"heatmap_frame_p95_ms\": %.2f, \"heatmap_zoomed_p95_ms\": %.2f, \"text_frame_p95_ms\": %.2f, "
              "\"stall_baseline_ms\": %.2f, \"stall_forward_ms\": %.2f, \"stall_compare_ms\": %.2f, \"stall_rollout_ms\": %.2f}\n",
              cold.p50, cold.max, pattern.p95, patternZoom.p95, heat.p95, heatZoom.p95, text.p95, baseline, stallAttention, stallCompare, stallRollout);
  return 0;
}

}  // namespace bb::ui
