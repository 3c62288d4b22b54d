#pragma once
// Device memory: large VkDeviceMemory blocks (each with one VkBuffer spanning it) carved into
// aligned sub-allocations, so thousands of tensors cost a handful of vkAllocateMemory calls and
// no single allocation exceeds maxMemoryAllocationSize / maxBufferSize. Shaders bind
// (buffer, offset, range) views; a view never exceeds maxStorageBufferRange (ops check).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/backend/vulkan/vk_loader.h"

namespace bb::vk {

class Device;

enum class MemoryKind {
  Device,   // device-local (also host-mapped on integrated GPUs / CPU implementations)
  Staging,  // host-visible, for uploads and downloads to non-mapped device memory
};

struct Allocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0, size = 0;
  uint8_t* mapped = nullptr;  // host pointer to offset, when the memory is host-visible
  int block = -1;
};

class Allocator {
 public:
  Allocator(Device& device, const VkPhysicalDeviceMemoryProperties& props, uint64_t max_allocation, bool unified);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Throws VulkanError (VK_ERROR_OUT_OF_DEVICE_MEMORY, or a size beyond the device's limits).
  Allocation allocate(uint64_t bytes, MemoryKind kind);
  void release(const Allocation& a) noexcept;

  uint64_t bytes_in_use() const;
  uint64_t bytes_reserved() const;  // sum of block sizes
  uint64_t max_allocation() const { return max_allocation_; }
  bool device_memory_mapped() const;  // device tensors can be written with memcpy

 private:
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    uint64_t size = 0, used = 0;
    uint8_t* mapped = nullptr;
    MemoryKind kind = MemoryKind::Device;
    std::map<uint64_t, uint64_t> free;  // offset -> length, coalesced
  };
  int new_block(uint64_t size, MemoryKind kind);
  void destroy_block(Block& b) noexcept;
  uint32_t pick_memory_type(uint32_t allowed, MemoryKind kind) const;

  Device& device_;
  VkPhysicalDeviceMemoryProperties props_;
  uint64_t max_allocation_, block_size_, alignment_;
  bool unified_;
  int mapped_device_type_ = -1;  // memory type used for MemoryKind::Device, once known
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Block>> blocks_;
  uint64_t in_use_ = 0;
};

// A typed range of device memory that returns itself to the allocator. Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Allocator& allocator, uint64_t bytes, MemoryKind kind = MemoryKind::Device);
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  bool empty() const { return allocator_ == nullptr; }
  uint64_t bytes() const { return bytes_; }
  const Allocation& allocation() const { return a_; }
  uint8_t* mapped() const { return a_.mapped; }

 private:
  Allocator* allocator_ = nullptr;
  Allocation a_;
  uint64_t bytes_ = 0;
};

}  // namespace bb::vk
