#pragma once
// The Vulkan devices of this machine as the compute backend setting shows them: name, type, memory
// and whether the self-test passed (or why not). Plain C++ (no Qt): the engine's Vulkan headers use
// names that are Qt keyword macros.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::ui {

struct ComputeDevice {
  int index = -1;
  std::string name, type;  // type: discrete | integrated | virtual | cpu | other
  uint64_t memoryBytes = 0;  // device-local heaps
  bool usable = false;       // the backend can drive it (API version, compute queue)
  bool selfTestPassed = false;
  std::string failure;  // why it is not used: not usable, device creation or self-test failure
  double selfTestSeconds = 0;
};

struct DeviceProbe {
  std::vector<ComputeDevice> devices;
  std::string error;  // no Vulkan loader / instance: the reason
};

// Lists the Vulkan devices and self-tests each usable one (slow: call off the UI thread).
DeviceProbe probeComputeDevices();

}  // namespace bb::ui
