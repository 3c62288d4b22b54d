#pragma once
// Status-bar label saying which compute backend ran the last local job: "CPU", "Vulkan · <device>"
// or "CPU (fallback: <reason>)" (the reason cut short; the tooltip has it in full, with the chosen
// backend). It follows ComputeBackend::used() and installs the engine's backend notice handler
// (engine/backend/backend.h) while it lives: notices may come from worker threads and are applied
// on the UI thread, and re-emitted as notice() so the window can show them. A click opens the
// compute backend settings (clicked()).
#include <QLabel>
#include <string>

namespace bb::ui {

class BackendStatusLabel : public QLabel {
  Q_OBJECT

 public:
  explicit BackendStatusLabel(QWidget* parent = nullptr);
  ~BackendStatusLabel() override;

  // What a pass reports it ran on: "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)".
  void showUsed(const std::string& used);
  // A backend notice line (e.g. "vulkan backend unavailable (...); running on the CPU").
  void showNotice(const QString& line);

 signals:
  void clicked();
  void notice(const QString& line);

 protected:
  void mousePressEvent(QMouseEvent* e) override;

 private:
  void setTip(const QString& what);
};

}  // namespace bb::ui
