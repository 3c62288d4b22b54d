#include "ui/view_render.h"

#include <QFileInfo>
#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "ui/cost_view.h"
#include "ui/document_view.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/lab_session.h"
#include "ui/mask_view.h"
#include "ui/sparse_full_view.h"
#include "ui/task_manager.h"
#include "ui/token_view.h"
#include "ui/tour_view.h"

namespace bb::ui {

namespace {

RenderResult failure(const QString& error, bool usage = false) {
  RenderResult r;
  r.error = error;
  r.usageError = usage;
  return r;
}

// Loads the model and the document and runs the attention (and the comparison) synchronously.
QString prepareSession(LabSession& session, const RenderRequest& req, bool compare) {
  const QString modelDir = req.modelDir.isEmpty() ? defaultModelDir() : req.modelDir;
  if (!QFileInfo(modelDir).isDir())
    return req.modelDir.isEmpty()
               ? QStringLiteral("cannot render: the bundled model is missing (%1); pass --model DIR").arg(modelDir)
               : QStringLiteral("cannot render: --model %1 is not a directory").arg(modelDir);
  const QString doc = req.document.isEmpty() ? samplesDir() + QStringLiteral("/pride-and-prejudice-ch1-6.txt") : req.document;
  if (!QFileInfo(doc).isFile()) return QStringLiteral("cannot render: --document %1 is not a file").arg(doc);
  TaskManager& tasks = *session.tasks();
  auto wait = [&](const QString& what) -> QString {
    if (!tasks.waitForIdle(req.timeoutMs)) return QStringLiteral("cannot render: %1 took longer than %2 s").arg(what).arg(req.timeoutMs / 1000);
    if (!session.lastError().isEmpty()) return QStringLiteral("cannot render: ") + session.lastError();
    return {};
  };
  session.loadModel(modelDir);
  if (QString e = wait(QStringLiteral("loading the model")); !e.isEmpty()) return e;
  if (!session.model()) return QStringLiteral("cannot render: the model did not load");
  session.openDocument(doc);
  if (QString e = wait(QStringLiteral("running the model")); !e.isEmpty()) return e;
  const AttentionRun* run = session.attention();
  const LabDocument* d = session.document();
  if (!run || !d) return QStringLiteral("cannot render: no attention was captured");

  AttentionSelection s = session.selection();
  s.layer = req.layer < 0 ? run->layers - 1 : req.layer;
  if (s.layer >= run->layers)
    return QStringLiteral("cannot render: --layer %1 is outside 0..%2").arg(req.layer).arg(run->layers - 1);
  if (req.head.isEmpty() || req.head == QStringLiteral("mean")) {
    s.headMode = HeadMode::Mean;
  } else if (req.head == QStringLiteral("max")) {
    s.headMode = HeadMode::Max;
  } else {
    bool ok = false;
    s.head = req.head.toInt(&ok);
    if (!ok || s.head < 0 || s.head >= run->heads)
      return QStringLiteral("cannot render: --head %1 is not mean, max or 0..%2").arg(req.head).arg(run->heads - 1);
    s.headMode = HeadMode::One;
  }
  int64_t token = req.token;
  if (token < 0) {
    token = d->tokens() / 2;
    while (token + 1 < d->tokens() && (d->isSpecial(token) || d->tokenText(token).find('\n') != std::string::npos)) ++token;
  }
  if (token >= d->tokens())
    return QStringLiteral("cannot render: --token %1 is outside the document's %2 tokens").arg(token).arg(d->tokens());
  s.token = token;
  s.rollout = req.rollout;
  s.direction = req.attendedBy ? AttentionSelection::AttendedBy : AttentionSelection::AttendsTo;
  session.setSelection(s);
  if (QString e = wait(QStringLiteral("the rollout")); !e.isEmpty()) return e;
  if (compare) {
    session.runComparison(true);
    if (QString e = wait(QStringLiteral("comparing sparse and full")); !e.isEmpty()) return e;
    if (!session.comparison()) return QStringLiteral("cannot render: the comparison produced no result");
  }
  return {};
}

QImage grab(ImGuiWidget& widget, QSize size, int frames) {
  QImage image;
  for (int i = 0; i < frames; ++i) image = widget.grabFramebuffer();
  if (image.isNull()) return image;
  return image.copy(0, 0, size.width(), size.height()).convertToFormat(QImage::Format_RGB32);
}

}  // namespace

QStringList renderableViews() {
  return {QStringLiteral("pattern"), QStringLiteral("document"), QStringLiteral("sparse-vs-full"),
          QStringLiteral("calculator"), QStringLiteral("tour")};
}

RenderResult renderView(const RenderRequest& req, bool wantSvg) {
  if (!renderableViews().contains(req.view))
    return failure(QStringLiteral("--render: unknown view '%1' (expected: %2)").arg(req.view, renderableViews().join(QStringLiteral(", "))),
                   true);
  QString why;
  if (!ImGuiWidget::openGLAvailable(&why)) return failure(QStringLiteral("cannot render: OpenGL is not available (%1)").arg(why));

  TaskManager tasks;
  LabSession session(&tasks);
  ImGuiWidget widget;
  ImGuiView* main = nullptr;
  RenderResult out;
  const bool needsModel = req.view == QStringLiteral("document") || req.view == QStringLiteral("sparse-vs-full");
  if (needsModel) {
    const QString error = prepareSession(session, req, req.view == QStringLiteral("sparse-vs-full"));
    if (!error.isEmpty()) return failure(error);
  }

  if (req.view == QStringLiteral("pattern")) {
    MaskView* v = widget.addView<MaskView>(req.pattern);
    if (!v->planError().empty())
      return failure(QStringLiteral("cannot render: the engine cannot plan this configuration: %1")
                         .arg(QString::fromStdString(v->planError())));
    out.summary = v->summary();
    main = v;
  } else if (req.view == QStringLiteral("document")) {
    main = widget.addView<DocumentView>(&session);
    widget.addView<TokenView>(&session);
    widget.setSplit({0.58f, 0.42f});
    const AttentionRun* run = session.attention();
    out.summary = std::to_string(run->realLen) + " tokens, layer " + std::to_string(session.selection().layer) + ", token " +
                  std::to_string(session.selection().token) + ": " + run->decision.reason;
  } else if (req.view == QStringLiteral("sparse-vs-full")) {
    main = widget.addView<SparseFullView>(&session);
    const CompareRun* c = session.comparison();
    out.summary = std::to_string(c->realLen) + " tokens, top-1 agreement " + std::to_string(int(std::lround(100 * c->top1Agreement))) +
                  " %";
  } else if (req.view == QStringLiteral("calculator")) {
    CostView* v = widget.addView<CostView>(nullptr);
    CostConfig c = v->config();
    if (req.patternGiven) {
      c.length = req.pattern.seq_len;
      c.block = req.pattern.block;
      c.random = req.pattern.num_random;
      c.heads = req.pattern.heads;
    }
    v->setConfig(c);
    const CostRow r = computeCostRow(v->config(), v->config().length);
    out.summary = std::to_string(r.length) + " tokens: " + std::to_string(r.pairsSparse) + " of " + std::to_string(r.pairsFull) +
                  " block pairs";
    main = v;
  } else {  // tour
    std::vector<TourStep> steps;
    try {
      steps = loadTourSteps();
    } catch (const bb::Error& e) {
      return failure(QStringLiteral("cannot render: ") + QString::fromStdString(e.what()));
    }
    if (req.step < 1 || req.step > int(steps.size()))
      return failure(QStringLiteral("--step %1 is outside 1..%2").arg(req.step).arg(steps.size()), true);
    TourView* tour = widget.addView<TourView>(std::move(steps));
    MaskView* pattern = widget.addView<MaskView>();
    tour->setOnApply([pattern](const TourStep& s, const MaskConfig& c) {
      pattern->setConfig(c);
      pattern->setVisibleKinds(s.kinds);
      pattern->setFocusQueryBlock(s.focusQuery);
      pattern->setCaption(s.caption);
    });
    tour->setStep(req.step - 1);
    if (req.patternGiven) {
      MaskConfig c = tour->tryConfig();
      c.seq_len = req.pattern.seq_len;
      c.block = req.pattern.block;
      c.num_random = req.pattern.num_random;
      tour->setTryConfig(c);
    }
    widget.setSplit({0.42f, 0.58f});
    out.summary = "step " + std::to_string(req.step) + ": " + tour->current().title;
    main = tour;
  }

  widget.setAttribute(Qt::WA_DontShowOnScreen);
  widget.show();  // the device pixel ratio is only known once the widget has a window
  const qreal dpr = widget.devicePixelRatioF();
  widget.resize(int(std::ceil(req.size.width() / dpr)), int(std::ceil(req.size.height() / dpr)));
  // ImGui lays some widgets out one frame late (tables, auto-sized items, scrolling to the
  // selected token); the frames after that are stable.
  out.image = grab(widget, req.size, needsModel ? 5 : 3);
  if (out.image.isNull()) return failure(QStringLiteral("cannot render: the OpenGL framebuffer could not be read back"));
  if (wantSvg) out.svg = widget.grabSvg();
  out.csv = main->exportCsv();
  out.json = main->exportJson();
  out.devicePixelRatio = float(dpr);
  return out;
}

}  // namespace bb::ui
