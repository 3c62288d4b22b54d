#include "ui/compute_devices.h"

#include <memory>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/core/error.h"

namespace bb::ui {

DeviceProbe probeComputeDevices() {
  DeviceProbe out;
  std::vector<vk::DeviceInfo> infos;
  try {
    infos = vk::list_devices();
  } catch (const Error& e) {  // VulkanError: no loader, no instance
    out.error = e.what();
    return out;
  }
  for (const vk::DeviceInfo& info : infos) {
    ComputeDevice d;
    d.index = info.index;
    d.name = info.name;
    d.type = info.type;
    d.memoryBytes = info.device_local_bytes;
    d.usable = info.usable;
    if (!info.usable) {
      d.failure = info.unusable_reason;
    } else {
      // The same options as a job that names this device with the Vulkan backend, so the job
      // reuses this device and its self-test (engine/backend/vulkan_fallback.cpp).
      vk::DeviceOptions o = vk::DeviceOptions::from_environment();
      o.device = info.name;
      o.allow_cpu_device = true;
      std::string reason;
      std::shared_ptr<vk::Device> device = vk::acquire_device(o, &reason);
      if (device) {
        const vk::SelfTestReport* report = vk::self_test_report(device);
        d.selfTestPassed = report && report->passed;
        d.selfTestSeconds = report ? report->seconds : 0.0;
      } else {
        d.failure = reason;
      }
    }
    out.devices.push_back(std::move(d));
  }
  return out;
}

}  // namespace bb::ui
