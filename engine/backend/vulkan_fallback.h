#pragma once
// The parts of "run on Vulkan, else fall back to the CPU once, visibly" that every model's encoder
// backend shares: acquiring the selected device and turning a Vulkan failure into the one-line reason.
#include <memory>
#include <string>

#include "engine/backend/encoder_backend.h"  // Selection

namespace bb::vk {
class Device;
class VulkanError;
}  // namespace bb::vk

namespace bb::backend {

// The device `sel` asks for; throws vk::VulkanError with the reason when there is none. `auto` means
// "a GPU if there is one": a CPU implementation (lavapipe) is slower than the engine's own CPU path,
// so only an explicit --backend vulkan uses it.
std::shared_ptr<vk::Device> acquire_selected_device(const Selection& sel);

// Reason for falling back after `e` (prefixed with the device name), reports a lost device, and
// prints the one-line notice. `device` may be null when the failure came before a device existed.
std::string fallback_after_failure(const Selection& sel, const vk::VulkanError& e,
                                   const std::shared_ptr<vk::Device>& device);

}  // namespace bb::backend
