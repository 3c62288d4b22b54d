#include "ui/compute_backend.h"

#include <QCoreApplication>
#include <QMetaObject>
#include <QSettings>

#include "engine/core/error.h"

namespace bb::ui {

namespace {

const QString kBackendKey = QStringLiteral("compute/backend");
const QString kDeviceKey = QStringLiteral("compute/device");

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

QString describeUsed(const std::string& used, QString* reason) {
  const std::string vulkan = "vulkan (", fallback = "cpu (fallback: ";
  if (reason) reason->clear();
  if (startsWith(used, vulkan) && used.back() == ')')
    return QStringLiteral("Vulkan · ") + QString::fromStdString(used.substr(vulkan.size(), used.size() - vulkan.size() - 1));
  if (startsWith(used, fallback) && used.back() == ')') {
    const QString why = QString::fromStdString(used.substr(fallback.size(), used.size() - fallback.size() - 1));
    if (reason) *reason = why;
    return QStringLiteral("CPU (fallback: %1)").arg(why);
  }
  return QStringLiteral("CPU");
}

std::string combineUsed(const std::vector<std::string>& parts) {
  for (const std::string& p : parts)
    if (startsWith(p, "cpu (fallback: ")) return p;
  for (const std::string& p : parts)
    if (startsWith(p, "vulkan (")) return p;
  return "cpu";
}

ComputeBackend& ComputeBackend::instance() {
  static auto* self = [] {
    auto* b = new ComputeBackend();  // lives as long as the process: worker threads report to it
    if (QCoreApplication::instance()) b->moveToThread(QCoreApplication::instance()->thread());  // signals on the UI thread
    return b;
  }();
  return *self;
}

ComputeBackend::ComputeBackend() {
  if (QCoreApplication::instance())
    connect(QCoreApplication::instance(), &QCoreApplication::aboutToQuit, this, &ComputeBackend::joinProbe);
}

backend::Selection ComputeBackend::selection() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return selection_;
}

void ComputeBackend::setSelection(const backend::Selection& s) {
  backend::Selection clean = s;
  if (clean.kind == backend::Kind::Cpu) clean.device.clear();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (selection_.kind == clean.kind && selection_.device == clean.device) return;
    selection_ = clean;
  }
  emit selectionChanged();
}

QString ComputeBackend::selectionText() const {
  const backend::Selection s = selection();
  switch (s.kind) {
    case backend::Kind::Cpu:
      return QStringLiteral("CPU");
    case backend::Kind::Vulkan:
      return QStringLiteral("Vulkan · ") + (s.device.empty() ? QStringLiteral("best device") : QString::fromStdString(s.device));
    case backend::Kind::Auto:
      return s.device.empty() ? QStringLiteral("Auto") : QStringLiteral("Auto · ") + QString::fromStdString(s.device);
  }
  return QStringLiteral("CPU");
}

void ComputeBackend::load(QSettings& settings) {
  backend::Selection s;
  try {
    s.kind = backend::parse_kind(settings.value(kBackendKey, QStringLiteral("cpu")).toString().toStdString());
  } catch (const Error&) {
    s.kind = backend::Kind::Cpu;  // a settings file from another version
  }
  s.device = settings.value(kDeviceKey).toString().toStdString();
  setSelection(s);
}

void ComputeBackend::save(QSettings& settings) const {
  const backend::Selection s = selection();
  settings.setValue(kBackendKey, QString::fromStdString(backend::to_string(s.kind)));
  settings.setValue(kDeviceKey, QString::fromStdString(s.device));
}

void ComputeBackend::reportUsed(const std::string& used) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lastUsed_ = used;
  }
  const QString text = QString::fromStdString(used);
  QMetaObject::invokeMethod(this, [this, text] { emit this->used(text); }, Qt::QueuedConnection);
}

QString ComputeBackend::lastUsed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return QString::fromStdString(lastUsed_);
}

void ComputeBackend::probeDevices(bool again) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (probing_ || (probed_ && !again)) return;
    probing_ = true;
  }
  if (probeThread_.joinable()) probeThread_.join();  // a finished earlier probe
  probeThread_ = std::thread([this] {
    DeviceProbe result = probeComputeDevices();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      probe_ = std::move(result);
      probing_ = false;
      probed_ = true;
    }
    QMetaObject::invokeMethod(this, [this] { emit devicesReady(); }, Qt::QueuedConnection);
  });
}

void ComputeBackend::joinProbe() {
  if (probeThread_.joinable()) probeThread_.join();
}

bool ComputeBackend::probing() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return probing_;
}

bool ComputeBackend::probed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return probed_;
}

DeviceProbe ComputeBackend::devices() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return probe_;
}

}  // namespace bb::ui
