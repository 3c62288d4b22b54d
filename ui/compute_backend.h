#pragma once
// The app's compute backend choice (Settings ▸ Compute Backend…: Auto, CPU or Vulkan and which
// device) and what the last local job actually ran on. One per process, like the engine's device
// registry: every view reads selection() when it starts a job and reports the engine's "what ran"
// string back with reportUsed() (from any thread); the status-bar label listens to used().
// The device list is gathered on a worker thread: creating a device and its self-test take seconds.
#include <QObject>
#include <QString>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend/encoder_backend.h"  // backend::Selection
#include "ui/compute_devices.h"

class QSettings;

namespace bb::ui {

// "CPU", "Vulkan · <device>" or "CPU (fallback: <reason>)" for an engine "what ran" string
// ("cpu", "vulkan (<device>)", "cpu (fallback: <reason>)"); `reason` receives the fallback reason.
QString describeUsed(const std::string& used, QString* reason = nullptr);
// The most telling of several parts' "what ran" (a fallback, else Vulkan, else the CPU).
std::string combineUsed(const std::vector<std::string>& parts);

class ComputeBackend : public QObject {
  Q_OBJECT

 public:
  static ComputeBackend& instance();

  backend::Selection selection() const;  // any thread
  void setSelection(const backend::Selection& s);
  QString selectionText() const;  // "Auto", "CPU", "Vulkan · llvmpipe"

  // QSettings keys compute/backend (auto|cpu|vulkan) and compute/device ("" = the best device).
  void load(QSettings& settings);
  void save(QSettings& settings) const;

  // What a local job ran on (any thread; used() is emitted on the UI thread).
  void reportUsed(const std::string& used);
  QString lastUsed() const;

  // Starts gathering the device list unless it is running or done; devicesReady() follows.
  void probeDevices(bool again = false);
  bool probing() const;
  bool probed() const;
  DeviceProbe devices() const;

 signals:
  void selectionChanged();
  void used(const QString& used);
  void devicesReady();

 private:
  ComputeBackend();
  void joinProbe();

  mutable std::mutex mutex_;
  backend::Selection selection_;
  std::string lastUsed_ = "cpu";
  DeviceProbe probe_;
  bool probing_ = false, probed_ = false;
  std::thread probeThread_;
};

}  // namespace bb::ui
