#pragma once
// Settings ▸ Compute Backend…: Auto, CPU or Vulkan, and which Vulkan device, with each device's
// name, type, memory and whether its self-test passed (or why it cannot be used). The device list
// is gathered on a worker thread (ComputeBackend::probeDevices); the dialog stays responsive.
// OK applies the choice to ComputeBackend (the main window persists it).
#include <QDialog>

#include "engine/backend/encoder_backend.h"

class QComboBox;
class QLabel;
class QTreeWidget;

namespace bb::ui {

class ComputeBackendDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ComputeBackendDialog(QWidget* parent = nullptr);

  backend::Selection chosen() const;
  void choose(const backend::Selection& s);  // sets the controls (tests, restoring)
  QComboBox* backendBox() const { return backend_; }
  QComboBox* deviceBox() const { return device_; }
  QTreeWidget* deviceTable() const { return table_; }

 private:
  void showDevices();
  void updateEnabled();

  QComboBox* backend_;
  QComboBox* device_;
  QTreeWidget* table_;
  QLabel* status_;
  QLabel* explanation_;
  std::string wantedDevice_;  // kept until the device list arrives
};

}  // namespace bb::ui
