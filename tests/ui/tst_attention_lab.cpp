// The Attention Lab driven like a user, under Xvfb: load a (random-weight) model, open the bundled
// sample, click a token in the text, and check that what the views highlight is exactly what the
// engine computed: the top-k of the captured attention row / column, the heatmap's colours, the
// sparse-vs-full numbers, the tour's steps and every export.
#include <QDockWidget>
#include <QFile>
#include <QMouseEvent>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <memory>
#include <numeric>

#include "engine/attention/plan.h"
#include "engine/models/bigbird_model.h"
#include "engine/tokenize/tokenizer.h"
#include "ui/colormap.h"
#include "ui/cost_view.h"
#include "ui/document_view.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/mask_view.h"
#include "ui/sparse_full_view.h"
#include "ui/task_manager.h"
#include "ui/token_view.h"
#include "ui/tour_view.h"

using namespace bb::ui;

namespace {

const QString kSample = QStringLiteral("/pride-and-prejudice-ch1.txt");

std::vector<int64_t> engineTopK(const std::vector<float>& v, int k) {
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return v[size_t(a)] > v[size_t(b)]; });
  idx.resize(size_t(k));
  return idx;
}

QString list(const std::vector<int64_t>& v) {
  QStringList s;
  for (int64_t x : v) s << QString::number(x);
  return s.join(QLatin1Char(' '));
}

}  // namespace

class TstAttentionLab : public QObject {
  Q_OBJECT

 public:
  static void initMain() {
    QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat());
    qputenv("XDG_CONFIG_HOME", QDir::temp().filePath(QStringLiteral("bigbird-lab-test-config")).toUtf8());
  }

 private slots:
  void initTestCase();
  void cleanupTestCase() { window_.reset(); }
  void modelAndDocumentLoadOnTheWorker();
  void clickingATokenHighlightsTheEngineTopK();
  void attendedByAndHeadMeanMatchTheEngine();
  void heatmapCellsShowTheBlockMass();
  void rolloutRunsOffTheUiThread();
  void sparseVsFullComparesBothPasses();
  void tourStepsToTheEnd();
  void everyViewExports_data();
  void everyViewExports();
  void costCalculatorMatchesThePlan();
  void costCalculatorMeasuresOnTheWorker();

 private:
  QImage frames(ImGuiWidget* w, int n = 3) {
    QImage img;
    for (int i = 0; i < n; ++i) img = w->grabFramebuffer();
    return img;
  }
  void waitIdle() { QVERIFY2(window_->tasks()->waitForIdle(120000), "tasks did not finish"); }
  LabSession* session() const { return window_->session(); }

  QTemporaryDir dir_;
  QString modelDir_;
  std::unique_ptr<MainWindow> window_;
  std::unique_ptr<bb::BigBirdModel> model_;  // the same checkpoint, loaded independently
  bb::EncoderOutputs reference_;            // the engine's own capture of the same document
};

void TstAttentionLab::initTestCase() {
  QString why;
  QVERIFY2(ImGuiWidget::openGLAvailable(&why), qPrintable(why));
  QVERIFY(dir_.isValid());
  modelDir_ = dir_.filePath(QStringLiteral("tiny"));
  writeRandomModel(modelDir_, tinyGpt2Config(1024), 3);
  LabOptions o;
  o.useSettings = false;
  o.autoLoadModel = false;
  window_ = std::make_unique<MainWindow>(o);
  window_->resize(1400, 900);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  QVERIFY(window_->documentView() && window_->tokenView() && window_->tourView());
}

void TstAttentionLab::modelAndDocumentLoadOnTheWorker() {
  window_->loadModel(modelDir_);
  QVERIFY(session()->modelLoading());  // submitted, not loaded on the UI thread
  waitIdle();
  QVERIFY2(session()->model(), qPrintable(session()->lastError()));
  QCOMPARE(session()->model()->config().num_hidden_layers, 2);
  QVERIFY(session()->model()->tokenizerPath.endsWith(QStringLiteral("gpt2.model")));

  window_->openDocument(samplesDir() + kSample);
  waitIdle();
  const LabDocument* doc = session()->document();
  QVERIFY2(doc, qPrintable(session()->lastError()));
  // Chapter 1 is longer than the tiny model's 1024 positions: cut, keeping [CLS] ... [SEP].
  QVERIFY(doc->fullLength > 1024);
  QCOMPARE(doc->tokens(), 1024);
  QCOMPARE(doc->encoding.ids.front(), 65);
  QCOMPARE(doc->encoding.ids.back(), 66);
  const AttentionRun* run = session()->attention();
  QVERIFY2(run, "the attention ran automatically after the document opened");
  QCOMPARE(run->layers, 2);
  QCOMPARE(run->heads, 4);
  QCOMPARE(run->decision.type, bb::attn::AttentionType::BlockSparse);
  QVERIFY(run->maps[0].blocked);

  // The independent reference: the same ids through the engine, every layer captured.
  auto tok = bb::tok::load_tokenizer(bundledVocab(QStringLiteral("gpt2.model")).toStdString());
  QFile f(samplesDir() + kSample);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const bb::tok::Encoding enc = tok->encode(f.readAll().toStdString());
  for (int i = 0; i < 1023; ++i) QCOMPARE(doc->encoding.ids[size_t(i)], enc.ids[size_t(i)]);
  model_ = std::make_unique<bb::BigBirdModel>(bb::BigBirdModel::load(modelDir_.toStdString()));
  bb::EncoderInputs in;
  in.input_ids = bb::I64Tensor({1, 1024});
  for (int i = 0; i < 1024; ++i) in.input_ids[i] = doc->encoding.ids[size_t(i)];
  bb::EncoderOptions opt;
  opt.capture.enabled = true;
  reference_ = model_->forward(in, opt);
}

void TstAttentionLab::clickingATokenHighlightsTheEngineTopK() {
  QVERIFY(session()->attention());
  AttentionSelection s = session()->selection();
  s.layer = 1;
  s.headMode = HeadMode::One;
  s.head = 2;
  s.direction = AttentionSelection::AttendsTo;
  s.rollout = false;
  s.topK = 8;
  s.token = -1;
  session()->setSelection(s);

  const int64_t target = 413;
  window_->showDock(MainWindow::kText);
  ImGuiWidget* text = window_->widgetOf(MainWindow::kText);
  window_->tokenView()->scrollToToken(target);
  frames(text, 6);
  const QRectF r = window_->tokenView()->tokenRect(target);
  QVERIFY2(!r.isEmpty(), "the token is not visible after scrolling to it");
  QTest::mouseMove(text, r.center().toPoint());
  QTest::mouseClick(text, Qt::LeftButton, {}, r.center().toPoint());
  frames(text);
  QCOMPARE(session()->selection().token, target);

  // What the engine captured for this token: layer 1, head 2, row 413 over the real keys.
  std::vector<float> row = reference_.attentions[1][0].row(2, target);
  row.resize(1024);
  const std::vector<int64_t> want = engineTopK(row, 8);
  const std::vector<int64_t>& got = session()->highlightedTokens();
  QVERIFY2(got == want, qPrintable(QStringLiteral("highlighted %1, engine %2").arg(list(got), list(want))));
  // And the view draws them: each top-k token carries the outline colour on its box.
  const QImage img = frames(text);
  const float dpr = float(text->devicePixelRatioF());
  int outlined = 0, visible = 0;
  for (int64_t t : got) {
    if (t == target) continue;  // the selected token is outlined in white
    const QRectF b = window_->tokenView()->tokenRect(t);
    if (b.isEmpty()) continue;
    ++visible;
    auto isOutline = [&](QPointF p) {
      const QColor c = img.pixelColor(int(p.x() * dpr), int(p.y() * dpr));
      return c.red() > 200 && c.green() > 130 && c.green() < 200 && c.blue() < 110;
    };
    // The outline is 2 px wide around the box; the rank number may cover part of the top edge.
    if (isOutline({b.center().x(), b.top() + 0.5}) || isOutline({b.left() - 0.5, b.center().y()}) ||
        isOutline({b.left() + 2.0, b.bottom() - 0.5}))
      ++outlined;
  }
  QVERIFY(visible > 0);
  QCOMPARE(outlined, visible);
}

void TstAttentionLab::attendedByAndHeadMeanMatchTheEngine() {
  const bb::attn::AttentionMap& m = reference_.attentions[0][0];
  AttentionSelection s = session()->selection();
  s.layer = 0;
  s.token = 200;
  s.headMode = HeadMode::Mean;
  s.direction = AttentionSelection::AttendsTo;
  s.topK = 10;
  session()->setSelection(s);
  std::vector<float> mean(1024, 0.0f);
  for (int h = 0; h < 4; ++h) {
    const std::vector<float> r = m.row(h, 200);
    for (int k = 0; k < 1024; ++k) mean[size_t(k)] += r[size_t(k)] / 4.0f;
  }
  QCOMPARE(session()->highlightedTokens(), engineTopK(mean, 10));

  s.direction = AttentionSelection::AttendedBy;
  s.headMode = HeadMode::One;
  s.head = 1;
  session()->setSelection(s);
  std::vector<float> col(1024);
  for (int q = 0; q < 1024; ++q) col[size_t(q)] = m.prob(1, q, 200);
  QCOMPARE(session()->highlightedTokens(), engineTopK(col, 10));
}

void TstAttentionLab::heatmapCellsShowTheBlockMass() {
  AttentionSelection s = session()->selection();
  s.layer = 1;
  s.headMode = HeadMode::One;
  s.head = 3;
  s.token = -1;
  session()->setSelection(s);
  window_->showDock(MainWindow::kDocument);
  ImGuiWidget* w = window_->widgetOf(MainWindow::kDocument);
  window_->documentView()->setZoom(1.0f);
  QTest::mouseMove(w, QPoint(2, 2));
  const QImage img = frames(w);
  const HeatmapGeometry g = window_->documentView()->geometry();
  const AttentionRun* run = session()->attention();
  QCOMPARE(g.nb, 64);  // 1024 tokens in blocks of 16
  QVERIFY2(g.cell >= 4.0f, qPrintable(QString::number(g.cell)));
  const float dpr = float(w->devicePixelRatioF());
  const LogScale scale{1e-4f, 1.0f};
  const auto& mass = run->blockMass[1][3];
  const auto& computed = run->computed[1][3];
  // Recompute the block mass from the reference capture: it must be what the texture shows.
  const auto ref = reference_.attentions[1][0];
  int checked = 0, computedCells = 0;
  for (int q = 0; q < g.nb; ++q)
    for (int k = 0; k < g.nb; ++k) {
      const size_t i = size_t(q) * size_t(g.nb) + size_t(k);
      const uint32_t want = computed[i] ? heatRgba(scale.position(mass[i])) : notComputedRgba();
      const QColor got = img.pixelColor(int((g.x0 + (k + 0.5f) * g.cell) * dpr), int((g.y0 + (q + 0.5f) * g.cell) * dpr));
      const QColor expect(int(want & 0xFF), int((want >> 8) & 0xFF), int((want >> 16) & 0xFF));
      if (got != expect) QFAIL(qPrintable(QStringLiteral("cell %1,%2: %3 != %4").arg(q).arg(k).arg(got.name(), expect.name())));
      ++checked;
      computedCells += computed[i];
    }
  QCOMPARE(checked, 64 * 64);
  const bb::attn::LayerPattern lp = [&] {
    bb::attn::PatternRequest r;
    r.seq_len = 1024;
    r.block = 16;
    r.heads = 4;
    r.layer = 1;
    r.max_position_embeddings = 1024;
    return bb::attn::plan_layer(r);
  }();
  const auto mult = lp.pattern.multiplicity(3);
  int planned = 0;
  for (uint8_t x : mult) planned += x > 0;
  QCOMPARE(computedCells, planned);
  // One cell's mass against the reference rows: query block 10 -> key block 0 (global).
  double want = 0;
  for (int r = 160; r < 176; ++r)
    for (int k = 0; k < 16; ++k) want += ref.prob(3, r, k);
  QVERIFY(std::abs(mass[size_t(10 * 64 + 0)] - want / 16) < 1e-5);
}

void TstAttentionLab::rolloutRunsOffTheUiThread() {
  AttentionSelection s = session()->selection();
  s.token = 300;
  s.rollout = true;
  s.direction = AttentionSelection::AttendsTo;
  s.layer = 1;
  session()->setSelection(s);
  QVERIFY(session()->rolloutRunning() || !session()->selectionWeights().empty());
  waitIdle();
  const auto& w = session()->selectionWeights();
  QCOMPARE(int64_t(w.size()), 1024);
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  QVERIFY2(std::abs(sum - 1.0) < 1e-3, qPrintable(QString::number(sum)));
  QCOMPARE(int(session()->highlightedTokens().size()), s.topK);
  s.rollout = false;
  session()->setSelection(s);
}

void TstAttentionLab::sparseVsFullComparesBothPasses() {
  session()->selectToken(120);
  session()->runComparison(true);
  QVERIFY(session()->comparisonRunning());
  waitIdle();
  const CompareRun* c = session()->comparison();
  QVERIFY2(c, qPrintable(session()->lastError()));
  QCOMPARE(c->fullDecision.type, bb::attn::AttentionType::OriginalFull);
  QCOMPARE(c->sparseDecision.type, bb::attn::AttentionType::BlockSparse);
  QCOMPARE(int(c->hiddenDiff.size()), 3);  // embeddings + 2 layers
  QCOMPARE(c->hiddenDiff[0], 0.0);         // the embeddings do not depend on attention
  QVERIFY(c->hiddenDiff[1] > 0.0 && c->hiddenDiff[2] > 0.0);
  QCOMPARE(int(c->outsideMass.size()), 2);
  for (const auto& heads : c->outsideMass)
    for (double m : heads) QVERIFY2(m > 0.0 && m < 1.0, qPrintable(QString::number(m)));
  QCOMPARE(c->maskedPosition, 120);
  QVERIFY(c->hasMlm);
  QCOMPARE(c->sparseTop.front().size(), size_t(5));
  QVERIFY(c->top1Agreement >= 0.0 && c->top1Agreement <= 1.0);
  QCOMPARE(int64_t(c->tokenDiff.size()), 1024);
}

void TstAttentionLab::tourStepsToTheEnd() {
  window_->startTour();
  TourView* tour = window_->tourView();
  ImGuiWidget* w = window_->widgetOf(MainWindow::kTour);
  QCOMPARE(tour->step(), 0);
  QVERIFY(tour->stepCount() >= 10);
  QSet<QString> titles;
  for (int i = 0; i < tour->stepCount(); ++i) {
    frames(w);
    const TourStep& step = tour->current();
    titles.insert(QString::fromStdString(step.title));
    // The live pattern view follows every step.
    QCOMPARE(window_->maskView()->visibleKinds(), step.kinds);
    QCOMPARE(window_->maskView()->config().seq_len, step.pattern.seq_len);
    QCOMPARE(window_->maskView()->config().configured, step.pattern.configured);
    if (tour->atEnd()) break;
    const QRectF next = tour->controlRect("next");
    QVERIFY(!next.isEmpty());
    QTest::mouseClick(w, Qt::LeftButton, {}, next.center().toPoint());
    frames(w);
    QCOMPARE(tour->step(), i + 1);
  }
  QVERIFY(tour->atEnd());
  QCOMPARE(titles.size(), tour->stepCount());
  // The fallback step shows full attention; the padding step pads 1000 to 1024.
  for (int i = 0; i < tour->stepCount(); ++i) {
    tour->setStep(i);
    if (tour->current().file.contains(QStringLiteral("fallback")))
      QCOMPARE(window_->maskView()->layerPattern().decision.type, bb::attn::AttentionType::OriginalFull);
    if (tour->current().file.contains(QStringLiteral("padding")))
      QCOMPARE(window_->maskView()->layerPattern().decision.padded_len, 1024);
  }
  // The learner changes r at a step: the pattern view follows, the step's kinds stay.
  tour->setStep(4);
  MaskConfig c = tour->tryConfig();
  c.num_random = 1;
  tour->setTryConfig(c);
  QCOMPARE(window_->maskView()->config().num_random, 1);
  QCOMPARE(window_->maskView()->visibleKinds(), tour->current().kinds);
  window_->dock(MainWindow::kTour)->close();
  QCOMPARE(window_->maskView()->visibleKinds(), uint8_t(kShowAll));
}

void TstAttentionLab::everyViewExports_data() {
  QTest::addColumn<QString>("dock");
  QTest::addColumn<bool>("hasCsv");
  QTest::addColumn<bool>("hasImage");  // the SVG embeds a texture
  QTest::newRow("pattern") << MainWindow::kPattern << true << false;
  QTest::newRow("layers") << MainWindow::kLayers << true << true;
  QTest::newRow("document") << MainWindow::kDocument << true << true;
  QTest::newRow("text") << MainWindow::kText << true << false;
  QTest::newRow("compare") << MainWindow::kCompare << true << true;
  QTest::newRow("cost") << MainWindow::kCost << true << false;
  QTest::newRow("tour") << MainWindow::kTour << false << false;
}

void TstAttentionLab::everyViewExports() {
  QFETCH(QString, dock);
  QFETCH(bool, hasCsv);
  QFETCH(bool, hasImage);
  const QByteArray id = dock.toLatin1();
  window_->showDock(id.constData());
  ImGuiWidget* w = window_->widgetOf(id.constData());
  QCOMPARE(window_->activeWidget(), w);
  frames(w);
  QTemporaryDir out;
  const QString png = out.filePath(QStringLiteral("v.png")), svg = out.filePath(QStringLiteral("v.svg"));
  window_->exportActive(QStringLiteral("png"), png);
  QCOMPARE(QImage(png).size(), w->size() * w->devicePixelRatio());
  window_->exportActive(QStringLiteral("svg"), svg);
  QFile f(svg);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QByteArray text = f.readAll();
  QVERIFY(text.startsWith("<?xml"));
  QVERIFY(text.contains("<svg"));
  QVERIFY2(text.contains("<text"), "the SVG keeps the labels as text");
  QCOMPARE(text.contains("<image"), hasImage);
  const QString json = out.filePath(QStringLiteral("v.json"));
  window_->exportActive(QStringLiteral("json"), json);
  QFile j(json);
  QVERIFY(j.open(QIODevice::ReadOnly));
  QVERIFY(j.readAll().contains("\"view\""));
  const QString csv = out.filePath(QStringLiteral("v.csv"));
  if (hasCsv) {
    window_->exportActive(QStringLiteral("csv"), csv);
    QFile c(csv);
    QVERIFY(c.open(QIODevice::ReadOnly));
    QVERIFY(c.readAll().count('\n') > 1);
  } else {
    QVERIFY_THROWS_EXCEPTION(bb::Error, window_->exportActive(QStringLiteral("csv"), csv));
  }
}

void TstAttentionLab::costCalculatorMatchesThePlan() {
  CostConfig c;
  c.length = 4096;
  const CostRow r = computeCostRow(c, 4096);
  bb::attn::PatternRequest req;
  req.seq_len = 4096;
  const bb::attn::LayerPattern lp = bb::attn::plan_layer(req);
  QCOMPARE(r.pairsSparse, lp.pattern.computed_block_pairs());
  QCOMPARE(r.pairsFull, int64_t(64 * 64));
  QVERIFY(r.attnFlopsSparse < 0.2 * r.attnFlopsFull);
  const CostRow shortRow = computeCostRow(c, 640);  // falls back to full attention
  QVERIFY(shortRow.fellBack);
  QCOMPARE(shortRow.pairsSparse, shortRow.pairsFull);
}

void TstAttentionLab::costCalculatorMeasuresOnTheWorker() {
  CostView* v = window_->costView();
  CostConfig c;  // a small shape keeps the timing runs short
  c.heads = 2;
  c.hidden = 64;
  c.layers = 1;
  c.intermediate = 128;
  v->setConfig(c);
  v->measure();
  QVERIFY(window_->tasks()->groupBusy(QStringLiteral("measure")));
  waitIdle();
  const auto& m = v->measurements();
  QCOMPARE(int(m.size()), 4);
  for (const CostMeasurement& r : m) QVERIFY(r.msFull > 0 && r.msSparse > 0);
  QCOMPARE(m[0].length, 512);
  QVERIFY(m[0].sparseFellBack);   // 512 <= (5 + 2*3) * 64: full attention in both runs
  QVERIFY(!m[3].sparseFellBack);  // 4096 runs block_sparse
  QVERIFY(!v->exportJson().empty());
  QVERIFY(QString::fromStdString(v->exportCsv()).contains(QStringLiteral("\n4096,")));
}

QTEST_MAIN(TstAttentionLab)
#include "tst_attention_lab.moc"
