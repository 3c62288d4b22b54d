#pragma once
// Compute pipelines, created lazily on first use per (kernel, specialization constants) and kept
// for the device's lifetime. A VkPipelineCache persisted under the XDG cache directory (one file
// per vendor/device/driver/cache UUID, validated before use) makes later start-ups skip the
// driver's shader compilation.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_loader.h"

namespace bb::vk {

class Device;

// A kernel's interface: the SPIR-V blob name (shaders/shader_library.h), the number of storage
// buffer bindings (0..n-1) and the push-constant block size.
struct KernelLayout {
  const char* name;
  uint32_t bindings;
  uint32_t push_bytes;
};

struct Pipeline {
  std::string name;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0, push_bytes = 0;
};

class Pipelines {
 public:
  Pipelines(Device& device, std::string cache_path);  // cache_path "" = in memory only
  ~Pipelines();
  Pipelines(const Pipelines&) = delete;
  Pipelines& operator=(const Pipelines&) = delete;

  // Specialization constant i gets constant_id i (uint32 / VkBool32 values).
  const Pipeline& get(const KernelLayout& kernel, const std::vector<uint32_t>& spec);

  void save() noexcept;  // persists the cache when it changed; failures only cost start-up time
  int created() const;
  const std::string& cache_path() const { return cache_path_; }
  bool cache_loaded() const { return cache_loaded_; }

 private:
  Device& device_;
  std::string cache_path_;
  bool cache_loaded_ = false;
  size_t saved_size_ = 0;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  mutable std::mutex mutex_;
  std::map<std::string, VkShaderModule> modules_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;  // key: name + spec values
};

}  // namespace bb::vk
