#pragma once
// Shutdown of the process's shared Vulkan devices (vk_runtime.h), in a header of its own so that
// program mains, the Qt one included, need not see the kernel headers.
namespace bb::vk {

// Drops the process's references to every shared device (each is destroyed once its other holders,
// e.g. a model's encoder backend, are gone). Call before main() returns: in static teardown the
// driver and the validation layers may already be unloaded.
void release_devices();

// Calls release_devices() when it goes out of scope: a program's main() declares one first.
struct DeviceReleaseGuard {
  DeviceReleaseGuard() = default;
  DeviceReleaseGuard(const DeviceReleaseGuard&) = delete;
  DeviceReleaseGuard& operator=(const DeviceReleaseGuard&) = delete;
  ~DeviceReleaseGuard() { release_devices(); }
};

}  // namespace bb::vk
