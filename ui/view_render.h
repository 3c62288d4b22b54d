#pragma once
// Draws one view offscreen exactly as the window shows it (same view classes, same fonts), for
// `bigbird-studio --render`, the docs' screenshots, slides and tests. Views that need the model
// (document attention, sparse vs full) run it first, through the same session and task manager as
// the window, and wait for the results.
#include <QImage>
#include <QSize>
#include <QString>
#include <string>

#include "ui/mask_config.h"

namespace bb::ui {

struct RenderRequest {
  QString view = QStringLiteral("pattern");  // pattern | document | sparse-vs-full | calculator | tour
  QSize size{1400, 850};                     // device pixels
  MaskConfig pattern;                        // pattern, tour; length/block/random also for the calculator
  bool patternGiven = false;                 // --length/--block/--random were given (else model/step defaults)
  QString modelDir;                          // empty: the bundled default model
  QString document;                          // empty: the bundled Pride and Prejudice sample
  int layer = -1;                            // -1: last layer (document), pattern.layer (pattern)
  QString head;                              // "", "mean", "max" or a head index
  int64_t token = -1;                        // selected token (-1: a token in the middle of the text)
  bool rollout = false;
  bool attendedBy = false;
  int step = 1;                              // tour step, 1-based
  int timeoutMs = 600000;                    // model work
};

struct RenderResult {
  QImage image;         // exactly `size`; null on failure
  std::string svg;      // when requested
  std::string csv, json;  // the view's numbers
  std::string summary;  // one line for the console
  QString error;        // one line; empty on success
  bool usageError = false;  // the request itself was wrong (exit 2), not the machine (exit 1)
  float devicePixelRatio = 1.0f;
};

QStringList renderableViews();
// Needs a QApplication on a GL-capable platform.
RenderResult renderView(const RenderRequest& request, bool wantSvg = false);

}  // namespace bb::ui
