#include "ui/backend_status_label.h"

#include <QMetaObject>
#include <QPointer>

#include "engine/backend/backend.h"

namespace bb::ui {

namespace {
const QString kCpuTip = QStringLiteral("Models run on the CPU");
}

BackendStatusLabel::BackendStatusLabel(QWidget* parent) : QLabel(parent) {
  setObjectName(QStringLiteral("backendStatus"));
  setContentsMargins(8, 0, 8, 0);
  showUsed("cpu");
  QPointer<BackendStatusLabel> self(this);
  backend::set_notice_handler([self](const std::string& line) {
    const QString text = QString::fromStdString(line);
    if (self) QMetaObject::invokeMethod(self, [self, text] { if (self) self->showNotice(text); }, Qt::QueuedConnection);
  });
}

BackendStatusLabel::~BackendStatusLabel() { backend::set_notice_handler(nullptr); }

void BackendStatusLabel::showUsed(const std::string& used) {
  const std::string vulkan = "vulkan (", fallback = "cpu (fallback: ";
  if (used.rfind(vulkan, 0) == 0 && used.back() == ')') {
    setText(QString::fromStdString(used.substr(vulkan.size(), used.size() - vulkan.size() - 1)));
    setToolTip(QStringLiteral("Models run on this Vulkan device"));
  } else if (used.rfind(fallback, 0) == 0 && used.back() == ')') {
    setText(QStringLiteral("CPU"));
    setToolTip(QStringLiteral("Running on the CPU: ") +
               QString::fromStdString(used.substr(fallback.size(), used.size() - fallback.size() - 1)));
  } else {
    setText(QStringLiteral("CPU"));
    setToolTip(kCpuTip);
  }
}

void BackendStatusLabel::showNotice(const QString& line) {
  setText(QStringLiteral("CPU"));
  setToolTip(line);
}

}  // namespace bb::ui
