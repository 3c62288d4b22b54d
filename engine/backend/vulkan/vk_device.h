#pragma once
// Vulkan instance + one logical device with a compute queue: enumeration and ranking of the
// physical devices (discrete > integrated > virtual > CPU implementations), the limits that
// matter for sizing buffers and dispatches, optional validation layers with a message counter,
// and the device's memory allocator and pipeline registry.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_loader.h"

namespace bb::vk {

class Allocator;
class Pipelines;

struct MemoryHeapInfo {
  uint64_t bytes = 0;
  bool device_local = false;
};

struct DeviceInfo {
  int index = -1;  // position in list_devices()
  std::string name;
  std::string type;  // discrete | integrated | virtual | cpu | other
  VkPhysicalDeviceType vk_type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t api_version = 0, driver_version = 0, vendor_id = 0, device_id = 0;
  std::string driver_name, driver_info;
  std::vector<MemoryHeapInfo> heaps;
  uint64_t device_local_bytes = 0;
  uint32_t subgroup_size = 0;
  bool fp16_storage = false;     // storageBuffer16BitAccess (fp16 weights)
  bool fp16_arithmetic = false;  // shaderFloat16
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint64_t max_buffer_size = 0;  // maintenance4; 0 = not reported
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint32_t max_shared_memory = 0, max_workgroup_invocations = 0, max_push_constants = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  bool timestamps = false;
  float timestamp_period_ns = 0.0f;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  bool usable = false;
  std::string unusable_reason;  // why the backend cannot use it (API < 1.1, no compute queue, ...)

  int rank() const;                // discrete 4, integrated 3, virtual 2, cpu 1, other 0
  std::string api_string() const;  // "1.3.230"
};

// Deliberate failures, for tests and for diagnosing the fallback in the field (BIGBIRD_VK_FAULT).
struct Fault {
  int64_t allocation_limit = -1;  // >= 0: device allocations beyond this many bytes in use fail (OOM)
  std::string mismatch;           // self-test kernel whose GPU result is corrupted ("any" = the first)
  bool device_lost = false;       // every submission reports VK_ERROR_DEVICE_LOST
  bool any() const { return allocation_limit >= 0 || !mismatch.empty() || device_lost; }
};
// "alloc" | "alloc:<bytes>" | "mismatch" | "mismatch:<kernel>" | "lost", comma-separated.
Fault parse_fault(const std::string& spec);

struct DeviceOptions {
  std::string device;                 // "" = best by rank; a number = index in list_devices(); else a name substring
  bool allow_cpu_device = true;       // false: CPU implementations (lavapipe, SwiftShader) are refused
  bool validation = false;            // VK_LAYER_KHRONOS_validation + a messenger that counts its messages
  uint64_t max_allocation_bytes = 0;  // 0 = the device's maxMemoryAllocationSize (smaller: tests)
  uint64_t max_binding_bytes = 0;     // 0 = the device's maxStorageBufferRange (smaller: tests)
  std::string pipeline_cache_dir;     // "" = $XDG_CACHE_HOME/bigbird-studio/vulkan; "none" = not persisted
  double max_submit_seconds = 0.5;    // command buffers are split so no submission runs longer
  bool map_device_memory = true;      // false: transfers go through staging copies even on unified memory
  uint32_t split_blocks = 0;          // block-sparse split-K part size (ops::upload_pattern); 0 = automatic
  Fault fault;

  // BIGBIRD_VK_DEVICE, BIGBIRD_VK_VALIDATE=1, BIGBIRD_VK_FAULT, BIGBIRD_VK_MAX_SUBMIT_MS,
  // BIGBIRD_VK_MAX_BINDING_BYTES, BIGBIRD_VK_PIPELINE_CACHE_DIR, BIGBIRD_VK_STAGING=1,
  // BIGBIRD_VK_SPLIT_BLOCKS (a number, or "off" = never split).
  static DeviceOptions from_environment();
};

bool validation_layer_available();
// Validation errors + warnings reported by every device of this process, including those raised
// while a device is destroyed (leaked objects).
int process_validation_messages();

// Every physical device the loader reports. Throws VulkanError when there is no loader or instance.
std::vector<DeviceInfo> list_devices();
// The index into `devices` that `spec` names ("" = the best usable by rank). Throws bb::Error.
int pick_device(const std::vector<DeviceInfo>& devices, const std::string& spec, bool allow_cpu_device = true);

class Device {
 public:
  explicit Device(const DeviceOptions& options);  // throws VulkanError / bb::Error
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }
  const DeviceOptions& options() const { return options_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  Allocator& allocator() { return *allocator_; }
  Pipelines& pipelines() { return *pipelines_; }

  uint64_t max_binding_bytes() const { return max_binding_bytes_; }
  bool fp16_storage_enabled() const { return fp16_storage_enabled_; }

  // Validation-layer messages since creation (errors, warnings) and the last one's text.
  int validation_errors() const { return validation_errors_.load(); }
  int validation_warnings() const { return validation_warnings_.load(); }
  std::string last_validation_message() const;

  // Set after VK_ERROR_DEVICE_LOST (or a timeout): no further work is submitted.
  bool lost() const { return lost_.load(); }
  void mark_lost() { lost_.store(true); }

  // Submits one command buffer and waits for it (bounded wait; a timeout marks the device lost).
  // Thread-safe: several streams (each with its own command pool) may share the device.
  void submit_and_wait(VkCommandBuffer cmd, VkFence fence, const char* what);

  // Measured sustained FLOP/s (starts from a guess by device type), used to size submissions.
  double flops_per_second() const { return flops_per_second_.load(); }
  void record_throughput(double flops, double seconds);

 private:
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT types,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* self);

  DeviceOptions options_;
  DeviceInfo info_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  std::mutex queue_mutex_;  // vkQueueSubmit needs external synchronisation
  std::unique_ptr<Allocator> allocator_;
  std::unique_ptr<Pipelines> pipelines_;
  uint64_t max_binding_bytes_ = 0;
  bool fp16_storage_enabled_ = false;
  std::atomic<int> validation_errors_{0}, validation_warnings_{0};
  mutable std::mutex message_mutex_;
  std::string last_message_;
  std::atomic<bool> lost_{false};
  std::atomic<double> flops_per_second_{1e9};
};

}  // namespace bb::vk
