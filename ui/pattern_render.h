#pragma once
// Draws the pattern view into an offscreen framebuffer, exactly as the main window shows it
// (same widget, same view, same fonts), for `bigbird-studio --render`, docs and tests.
#include <QImage>
#include <QSize>
#include <QString>

#include "ui/mask_config.h"
#include "ui/mask_view.h"

namespace bb::ui {

struct PatternRender {
  QImage image;           // exactly `size` pixels; null on failure
  MaskGridGeometry grid;  // where the cells are in `image` (device pixels = logical here, see below)
  float devicePixelRatio = 1.0f;
  std::string summary;    // the view's status line
  QString error;          // one line; empty on success
};

// Needs a QApplication on a GL-capable platform. `grid` is in logical pixels; multiply by
// devicePixelRatio to index `image`.
PatternRender renderPattern(const MaskConfig& config, QSize size);

// PNG-encodes and writes atomically; throws bb::Error naming the path on failure.
void savePng(const QImage& image, const QString& path);

}  // namespace bb::ui
