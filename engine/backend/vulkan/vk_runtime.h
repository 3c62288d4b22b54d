#pragma once
// The process's Vulkan devices: created on first request for a set of options, self-tested
// against the CPU ops before first use, then shared. A device that fails (no driver, failed
// self-test, lost) is remembered with its one-line reason, so every later request gets the same
// answer instantly instead of touching a broken driver again.
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_kernel_checks.h"
#include "engine/backend/vulkan/vk_release.h"

namespace bb::vk {

struct SelfTestReport {
  bool passed = false;
  std::string failure;  // one line: the first failing check
  std::vector<checks::Check> checks;
  double seconds = 0.0;
};

// Runs every kernel on small shapes against the CPU (honours options().fault.mismatch).
SelfTestReport run_self_test(Device& device);

// The device for these options, or null with `reason` set. Never throws for Vulkan failures.
std::shared_ptr<Device> acquire_device(const DeviceOptions& options, std::string* reason);
// Marks the device broken (e.g. VK_ERROR_DEVICE_LOST during a pass): later acquires fail with reason.
void report_device_failure(const std::shared_ptr<Device>& device, const std::string& reason);
// The self-test report of an acquired device.
const SelfTestReport* self_test_report(const std::shared_ptr<Device>& device);

}  // namespace bb::vk
