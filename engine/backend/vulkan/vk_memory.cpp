#include "engine/backend/vulkan/vk_memory.h"

#include <algorithm>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"

namespace bb::vk {

namespace {

constexpr uint64_t kDefaultBlock = 256ull << 20;
constexpr uint64_t kStagingBlock = 64ull << 20;

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

Allocator::Allocator(Device& device, const VkPhysicalDeviceMemoryProperties& props, uint64_t max_allocation,
                     bool unified)
    : device_(device), props_(props), max_allocation_(max_allocation), unified_(unified) {
  block_size_ = std::min(kDefaultBlock, max_allocation_);
  alignment_ = std::max<uint64_t>(64, device.info().min_storage_buffer_offset_alignment);
}

Allocator::~Allocator() {
  for (auto& b : blocks_)
    if (b) destroy_block(*b);
}

uint32_t Allocator::pick_memory_type(uint32_t allowed, MemoryKind kind) const {
  auto find = [&](VkMemoryPropertyFlags want) -> int {
    for (uint32_t i = 0; i < props_.memoryTypeCount; ++i)
      if ((allowed & (1u << i)) && (props_.memoryTypes[i].propertyFlags & want) == want) return int(i);
    return -1;
  };
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int t = -1;
  if (kind == MemoryKind::Staging) {
    t = find(host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (t < 0) t = find(host);
  } else {
    if (unified_) t = find(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host);
    if (t < 0) t = find(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (t < 0) t = find(0);
  }
  if (t < 0) throw VulkanError("no suitable Vulkan memory type", VK_ERROR_OUT_OF_DEVICE_MEMORY);
  return uint32_t(t);
}

int Allocator::new_block(uint64_t size, MemoryKind kind) {
  auto b = std::make_unique<Block>();
  b->size = size;
  b->kind = kind;
  VkDevice dev = device_.handle();
  auto bi = make_struct<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(dev, &bi, nullptr, &b->buffer), "vkCreateBuffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev, b->buffer, &req);
  try {
    const uint32_t type = pick_memory_type(req.memoryTypeBits, kind);
    auto ai = make_struct<VkMemoryAllocateInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type;
    check(vkAllocateMemory(dev, &ai, nullptr, &b->memory), "vkAllocateMemory");
    check(vkBindBufferMemory(dev, b->buffer, b->memory, 0), "vkBindBufferMemory");
    const bool map = kind == MemoryKind::Staging || device_.options().map_device_memory;
    if (map && (props_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
      void* p = nullptr;
      check(vkMapMemory(dev, b->memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
      b->mapped = static_cast<uint8_t*>(p);
    }
    if (kind == MemoryKind::Device) mapped_device_type_ = b->mapped ? 1 : 0;
  } catch (...) {
    destroy_block(*b);
    throw;
  }
  b->free[0] = size;
  blocks_.push_back(std::move(b));
  return int(blocks_.size()) - 1;
}

void Allocator::destroy_block(Block& b) noexcept {
  VkDevice dev = device_.handle();
  if (b.mapped) vkUnmapMemory(dev, b.memory);
  if (b.buffer) vkDestroyBuffer(dev, b.buffer, nullptr);
  if (b.memory) vkFreeMemory(dev, b.memory, nullptr);
  b = Block{};
}

Allocation Allocator::allocate(uint64_t bytes, MemoryKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t need = round_up(std::max<uint64_t>(bytes, 4), alignment_);
  const Fault& fault = device_.options().fault;
  if (kind == MemoryKind::Device && fault.allocation_limit >= 0 && in_use_ + need > uint64_t(fault.allocation_limit))
    throw VulkanError("vkAllocateMemory: VK_ERROR_OUT_OF_DEVICE_MEMORY (forced by BIGBIRD_VK_FAULT=alloc)",
                      VK_ERROR_OUT_OF_DEVICE_MEMORY);
  if (need > max_allocation_)
    throw VulkanError("a tensor of " + std::to_string(bytes) + " bytes exceeds the device's maxMemoryAllocationSize (" +
                          std::to_string(max_allocation_) + ")",
                      VK_ERROR_OUT_OF_DEVICE_MEMORY);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < blocks_.size(); ++i) {
      if (!blocks_[i] || !blocks_[i]->memory || blocks_[i]->kind != kind) continue;
      Block& b = *blocks_[i];
      for (auto it = b.free.begin(); it != b.free.end(); ++it) {
        if (it->second < need) continue;
        const uint64_t off = it->first, len = it->second;
        b.free.erase(it);
        if (len > need) b.free[off + need] = len - need;
        b.used += need;
        in_use_ += need;
        Allocation a;
        a.buffer = b.buffer;
        a.offset = off;
        a.size = need;
        a.mapped = b.mapped ? b.mapped + off : nullptr;
        a.block = int(i);
        return a;
      }
    }
    if (pass == 0) {
      const uint64_t standard = kind == MemoryKind::Staging ? std::min(kStagingBlock, max_allocation_) : block_size_;
      new_block(std::max(standard, need), kind);
    }
  }
  throw VulkanError("sub-allocation failed", VK_ERROR_OUT_OF_DEVICE_MEMORY);
}

void Allocator::release(const Allocation& a) noexcept {
  if (a.block < 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Block& b = *blocks_[size_t(a.block)];
  auto [it, ok] = b.free.emplace(a.offset, a.size);
  (void)ok;
  auto next = std::next(it);
  if (next != b.free.end() && it->first + it->second == next->first) {
    it->second += next->second;
    b.free.erase(next);
  }
  if (it != b.free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      b.free.erase(it);
    }
  }
  b.used -= a.size;
  in_use_ -= a.size;
  // Give whole blocks of dedicated size back; keep standard ones for reuse.
  if (b.used == 0 && b.size > block_size_) destroy_block(b);
}

uint64_t Allocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

uint64_t Allocator::bytes_reserved() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t s = 0;
  for (const auto& b : blocks_)
    if (b && b->memory) s += b->size;
  return s;
}

bool Allocator::device_memory_mapped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mapped_device_type_ == 1;
}

Buffer::Buffer(Allocator& allocator, uint64_t bytes, MemoryKind kind)
    : allocator_(&allocator), a_(allocator.allocate(bytes, kind)), bytes_(bytes) {}

Buffer::~Buffer() {
  if (allocator_) allocator_->release(a_);
}

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this == &o) return *this;
  if (allocator_) allocator_->release(a_);
  allocator_ = o.allocator_;
  a_ = o.a_;
  bytes_ = o.bytes_;
  o.allocator_ = nullptr;
  o.a_ = Allocation{};
  o.bytes_ = 0;
  return *this;
}

}  // namespace bb::vk
