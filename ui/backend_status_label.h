#pragma once
// Status-bar label saying which compute backend runs the models: "CPU" or the Vulkan device's
// name, with the reason of the last fallback to the CPU as tooltip. It installs the engine's
// backend notice handler (engine/backend/backend.h) while it lives: notices may come from worker
// threads and are applied on the UI thread.
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
};

}  // namespace bb::ui
