#include "engine/backend/vulkan_fallback.h"

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"

namespace bb::backend {

std::shared_ptr<vk::Device> acquire_selected_device(const Selection& sel) {
  vk::DeviceOptions o = vk::DeviceOptions::from_environment();
  if (!sel.device.empty()) o.device = sel.device;
  o.allow_cpu_device = sel.kind == Kind::Vulkan;
  std::string reason;
  std::shared_ptr<vk::Device> device = vk::acquire_device(o, &reason);
  if (!device) throw vk::VulkanError(reason, VK_ERROR_INITIALIZATION_FAILED);
  return device;
}

std::string fallback_after_failure(const Selection& sel, const vk::VulkanError& e,
                                   const std::shared_ptr<vk::Device>& device) {
  std::string reason = e.what();
  if (device && reason.rfind(device->info().name, 0) != 0) reason = device->info().name + ": " + reason;
  if (device && (device->lost() || e.result() == VK_ERROR_DEVICE_LOST)) vk::report_device_failure(device, reason);
  notice(std::string(sel.kind == Kind::Auto ? "auto backend" : "vulkan backend") + " unavailable (" + reason +
         "); running on the CPU");
  return reason;
}

}  // namespace bb::backend
