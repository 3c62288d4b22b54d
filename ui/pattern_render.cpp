#include "ui/pattern_render.h"

#include <QBuffer>
#include <cmath>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "ui/imgui_widget.h"

namespace bb::ui {

PatternRender renderPattern(const MaskConfig& config, QSize size) {
  PatternRender out;
  QString why;
  if (!ImGuiWidget::openGLAvailable(&why)) {
    out.error = QStringLiteral("cannot render: OpenGL is not available (%1)").arg(why);
    return out;
  }
  ImGuiWidget widget;
  MaskView* view = widget.addView<MaskView>(config);
  widget.setAttribute(Qt::WA_DontShowOnScreen);
  widget.show();  // the device pixel ratio is only known once the widget has a window
  const qreal dpr = widget.devicePixelRatioF();
  widget.resize(int(std::ceil(size.width() / dpr)), int(std::ceil(size.height() / dpr)));
  // ImGui lays some widgets out one frame late (tables, auto-sized items); the third frame is stable.
  if (!view->planError().empty()) {
    out.error = QStringLiteral("cannot render: the engine cannot plan this configuration: %1")
                    .arg(QString::fromStdString(view->planError()));
    return out;
  }
  QImage image;
  for (int frame = 0; frame < 3; ++frame) image = widget.grabFramebuffer();
  if (image.isNull()) {
    out.error = QStringLiteral("cannot render: the OpenGL framebuffer could not be read back");
    return out;
  }
  out.image = image.copy(0, 0, size.width(), size.height()).convertToFormat(QImage::Format_RGB32);
  out.grid = view->gridGeometry();
  out.devicePixelRatio = float(dpr);
  out.summary = view->summary();
  return out;
}

void savePng(const QImage& image, const QString& path) {
  QByteArray png;
  QBuffer buffer(&png);
  buffer.open(QIODevice::WriteOnly);
  if (!image.save(&buffer, "PNG")) throw Error("cannot encode PNG for " + path.toStdString());
  bb::io::write_file_atomic(path.toStdString(),
                            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(png.constData()),
                                                     size_t(png.size())));
}

}  // namespace bb::ui
