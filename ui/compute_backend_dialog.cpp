#include "ui/compute_backend_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "ui/compute_backend.h"

namespace bb::ui {

namespace {

QString memoryText(uint64_t bytes) {
  if (bytes == 0) return QStringLiteral("?");
  return QStringLiteral("%1 GiB").arg(double(bytes) / double(1ull << 30), 0, 'f', 1);
}

}  // namespace

ComputeBackendDialog::ComputeBackendDialog(QWidget* parent) : QDialog(parent) {
  setObjectName(QStringLiteral("computeBackendDialog"));
  setWindowTitle(QStringLiteral("Compute Backend"));
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  backend_ = new QComboBox(this);
  backend_->setObjectName(QStringLiteral("computeBackendKind"));
  backend_->addItem(QStringLiteral("Auto (a GPU that passes the self-test, else the CPU)"), QStringLiteral("auto"));
  backend_->addItem(QStringLiteral("CPU"), QStringLiteral("cpu"));
  backend_->addItem(QStringLiteral("Vulkan"), QStringLiteral("vulkan"));
  form->addRow(QStringLiteral("Backend"), backend_);
  device_ = new QComboBox(this);
  device_->setObjectName(QStringLiteral("computeBackendDevice"));
  device_->addItem(QStringLiteral("Best available"), QString());
  form->addRow(QStringLiteral("Device"), device_);
  layout->addLayout(form);

  table_ = new QTreeWidget(this);
  table_->setObjectName(QStringLiteral("computeBackendDevices"));
  table_->setRootIsDecorated(false);
  table_->setColumnCount(4);
  table_->setHeaderLabels({QStringLiteral("Device"), QStringLiteral("Type"), QStringLiteral("Memory"), QStringLiteral("Self-test")});
  table_->header()->setStretchLastSection(true);
  table_->setMinimumSize(620, 140);
  layout->addWidget(table_);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  layout->addWidget(status_);
  explanation_ = new QLabel(
      QStringLiteral("Applies to the jobs that run on this computer: the Attention Lab, summaries, fill-mask, "
                     "classification, question answering and fine-tuning. Work a device cannot do, or a device that "
                     "fails, runs on the CPU, and the status bar says why. Auto never uses a CPU implementation of "
                     "Vulkan (lavapipe): it is slower than the CPU path."),
      this);
  explanation_->setWordWrap(true);
  layout->addWidget(explanation_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  QPushButton* rescan = buttons->addButton(QStringLiteral("Rescan"), QDialogButtonBox::ActionRole);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(rescan, &QPushButton::clicked, this, [this] {
    ComputeBackend::instance().probeDevices(true);
    showDevices();
  });
  connect(backend_, &QComboBox::currentIndexChanged, this, &ComputeBackendDialog::updateEnabled);
  connect(table_, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
    if (!item) return;
    const int i = device_->findData(item->data(0, Qt::UserRole));
    if (i >= 0) device_->setCurrentIndex(i);
  });

  ComputeBackend& cb = ComputeBackend::instance();
  connect(&cb, &ComputeBackend::devicesReady, this, &ComputeBackendDialog::showDevices);
  choose(cb.selection());
  cb.probeDevices();
  showDevices();
}

backend::Selection ComputeBackendDialog::chosen() const {
  backend::Selection s;
  s.kind = backend::parse_kind(backend_->currentData().toString().toStdString());
  if (s.kind != backend::Kind::Cpu) s.device = device_->currentData().toString().toStdString();
  return s;
}

void ComputeBackendDialog::choose(const backend::Selection& s) {
  backend_->setCurrentIndex(std::max(0, backend_->findData(QString::fromStdString(backend::to_string(s.kind)))));
  wantedDevice_ = s.device;
  int i = device_->findData(QString::fromStdString(s.device));
  if (i < 0 && !s.device.empty()) {  // saved, but not (yet) listed: keep it selectable
    device_->addItem(QString::fromStdString(s.device) + QStringLiteral(" (not found yet)"), QString::fromStdString(s.device));
    i = device_->count() - 1;
  }
  device_->setCurrentIndex(std::max(0, i));
  updateEnabled();
}

void ComputeBackendDialog::showDevices() {
  ComputeBackend& cb = ComputeBackend::instance();
  if (cb.probing() || !cb.probed()) {
    status_->setText(QStringLiteral("Looking for Vulkan devices and self-testing them…"));
    return;
  }
  const DeviceProbe probe = cb.devices();
  const QString keep = device_->currentData().toString();
  device_->clear();
  device_->addItem(QStringLiteral("Best available"), QString());
  table_->clear();
  for (const ComputeDevice& d : probe.devices) {
    const QString name = QString::fromStdString(d.name);
    const QString test = d.selfTestPassed ? QStringLiteral("passed (%1 s)").arg(d.selfTestSeconds, 0, 'f', 1)
                                          : QStringLiteral("failed: ") + QString::fromStdString(d.failure);
    auto* item = new QTreeWidgetItem(table_, {name, QString::fromStdString(d.type), memoryText(d.memoryBytes), test});
    item->setData(0, Qt::UserRole, name);
    item->setToolTip(3, test);
    device_->addItem(name + (d.selfTestPassed ? QString() : QStringLiteral(" (self-test failed)")), name);
  }
  for (int c = 0; c < 3; ++c) table_->resizeColumnToContents(c);
  const QString wanted = wantedDevice_.empty() ? keep : QString::fromStdString(wantedDevice_);
  int i = device_->findData(wanted);
  if (i < 0 && !wanted.isEmpty()) {
    device_->addItem(wanted + QStringLiteral(" (not found)"), wanted);
    i = device_->count() - 1;
  }
  device_->setCurrentIndex(std::max(0, i));
  wantedDevice_.clear();
  if (!probe.error.empty())
    status_->setText(QStringLiteral("No Vulkan: ") + QString::fromStdString(probe.error) + QStringLiteral(". Models run on the CPU."));
  else if (probe.devices.empty())
    status_->setText(QStringLiteral("No Vulkan devices found. Models run on the CPU."));
  else
    status_->setText(QStringLiteral("%1 Vulkan device(s) found.").arg(probe.devices.size()));
  updateEnabled();
}

void ComputeBackendDialog::updateEnabled() {
  const bool cpu = backend_->currentData().toString() == QStringLiteral("cpu");
  device_->setEnabled(!cpu);
}

}  // namespace bb::ui
