#include "ui/backend_status_label.h"

#include <QMetaObject>
#include <QMouseEvent>
#include <QPointer>

#include "engine/backend/backend.h"
#include "ui/compute_backend.h"

namespace bb::ui {

namespace {

constexpr int kShownReasonChars = 48;  // the rest is in the tooltip

}  // namespace

BackendStatusLabel::BackendStatusLabel(QWidget* parent) : QLabel(parent) {
  setObjectName(QStringLiteral("backendStatus"));
  setContentsMargins(8, 0, 8, 0);
  setCursor(Qt::PointingHandCursor);
  ComputeBackend& cb = ComputeBackend::instance();
  showUsed("cpu");
  connect(&cb, &ComputeBackend::used, this, [this](const QString& used) { showUsed(used.toStdString()); });
  connect(&cb, &ComputeBackend::selectionChanged, this, [this] { showUsed(ComputeBackend::instance().lastUsed().toStdString()); });
  QPointer<BackendStatusLabel> self(this);
  backend::set_notice_handler([self](const std::string& line) {
    const QString text = QString::fromStdString(line);
    if (self) QMetaObject::invokeMethod(self, [self, text] { if (self) self->showNotice(text); }, Qt::QueuedConnection);
  });
}

BackendStatusLabel::~BackendStatusLabel() { backend::set_notice_handler(nullptr); }

void BackendStatusLabel::setTip(const QString& what) {
  setToolTip(what + QStringLiteral("\nChosen backend: ") + ComputeBackend::instance().selectionText() +
             QStringLiteral(" (click to change)"));
}

void BackendStatusLabel::showUsed(const std::string& used) {
  QString reason;
  const QString text = describeUsed(used, &reason);
  if (!reason.isEmpty()) {
    const QString shown = reason.size() > kShownReasonChars ? reason.left(kShownReasonChars - 1) + QStringLiteral("…") : reason;
    setText(QStringLiteral("CPU (fallback: %1)").arg(shown));
    setTip(QStringLiteral("Running on the CPU: ") + reason);
  } else if (text.startsWith(QStringLiteral("Vulkan"))) {
    setText(text);
    setTip(QStringLiteral("The last job ran on this Vulkan device"));
  } else {
    setText(text);
    setTip(QStringLiteral("Models run on the CPU"));
  }
}

void BackendStatusLabel::showNotice(const QString& line) {
  setText(QStringLiteral("CPU"));
  setTip(line);
  emit notice(line);
}

void BackendStatusLabel::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) emit clicked();
  QLabel::mousePressEvent(e);
}

}  // namespace bb::ui
