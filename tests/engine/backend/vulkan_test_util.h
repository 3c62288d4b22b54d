#pragma once
// Shared by the Vulkan tests: one device per test process (lavapipe in CI) with the Khronos
// validation layers on whenever they are installed, a clean GTEST_SKIP when the machine has no
// Vulkan device at all, and a check that the validation layers stayed silent.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"

namespace bbtest {

// Options of the test device: validation when installed, no pipeline-cache file in $HOME.
inline bb::vk::DeviceOptions test_device_options() {
  bb::vk::DeviceOptions o;
  o.validation = bb::vk::validation_layer_available();
  o.pipeline_cache_dir = "none";
  return o;
}

// Empty when a Vulkan device is usable; otherwise the reason (for GTEST_SKIP).
inline std::string vulkan_unavailable_reason() {
  static const std::string reason = [] {
    try {
      const auto devices = bb::vk::list_devices();
      bb::vk::pick_device(devices, "", true);
      return std::string();
    } catch (const bb::Error& e) {
      return std::string(e.what());
    }
  }();
  return reason;
}

// Owns the process's test device and destroys it before main() returns (never during static
// teardown, when the driver may already be gone), then checks that the validation layers reported
// nothing for the whole run, leaked objects included.
class VulkanTestEnvironment : public ::testing::Environment {
 public:
  static std::unique_ptr<bb::vk::Device>& device() {
    static std::unique_ptr<bb::vk::Device> d;
    return d;
  }
  // Messages a test provokes on purpose (to prove the layers are active) are announced here.
  static int& expected_messages() {
    static int n = 0;
    return n;
  }
  void TearDown() override {
    device().reset();
    bb::vk::release_devices();  // the models' shared devices too (each has its own validation state)
    EXPECT_EQ(bb::vk::process_validation_messages(), expected_messages())
        << "the Vulkan validation layers reported problems (see stderr)";
  }
};
inline ::testing::Environment* const kVulkanTestEnvironment =
    ::testing::AddGlobalTestEnvironment(new VulkanTestEnvironment);

// The process's test device (created on first use), or null when there is none.
inline bb::vk::Device* test_device() {
  auto& d = VulkanTestEnvironment::device();
  if (!d && vulkan_unavailable_reason().empty()) d = std::make_unique<bb::vk::Device>(test_device_options());
  return d.get();
}

}  // namespace bbtest

#define BB_REQUIRE_VULKAN()                                                    \
  do {                                                                         \
    const std::string bb_reason = bbtest::vulkan_unavailable_reason();         \
    if (!bb_reason.empty()) GTEST_SKIP() << "no Vulkan device: " << bb_reason; \
  } while (0)

// Fails the current test if the validation layers reported anything on `device` so far.
#define BB_EXPECT_NO_VALIDATION_MESSAGES(device)                              \
  EXPECT_EQ((device).validation_errors() + (device).validation_warnings(), 0) \
      << "validation: " << (device).last_validation_message()
