#include "engine/backend/vulkan/vk_stream.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"

namespace bb::vk {

namespace {

constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kMaxBindings = 12;
constexpr uint32_t kMaxQueries = 1024;
constexpr uint64_t kStagingChunk = 32ull << 20;

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

View view_of(const Buffer& b) {
  View v;
  v.buffer = b.allocation().buffer;
  v.offset = b.allocation().offset;
  v.bytes = std::max<uint64_t>(b.bytes(), 4);
  return v;
}

View view_of_or_empty(const Buffer& b) { return b.empty() ? View{} : view_of(b); }

Stream::Stream(Device& device) : device_(device) {
  VkDevice dev = device.handle();
  // One command pool per stream: recording needs the pool externally synchronised, and streams of
  // different threads share the device.
  auto pi = make_struct<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = device.queue_family();
  check(vkCreateCommandPool(dev, &pi, nullptr, &pool_), "vkCreateCommandPool");
  try {
    auto ai = make_struct<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(dev, &ai, &cmd_), "vkAllocateCommandBuffers");
    auto fi = make_struct<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
    check(vkCreateFence(dev, &fi, nullptr, &fence_), "vkCreateFence");
    dummy_ = Buffer(device.allocator(), 64);
  } catch (...) {
    if (fence_) vkDestroyFence(dev, fence_, nullptr);
    vkDestroyCommandPool(dev, pool_, nullptr);  // frees its command buffers
    throw;
  }
}

Stream::~Stream() {
  VkDevice dev = device_.handle();
  if (recording_) vkEndCommandBuffer(cmd_);  // abandoned after an error: never submitted
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(dev, p, nullptr);
  if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
  vkDestroyFence(dev, fence_, nullptr);
  vkDestroyCommandPool(dev, pool_, nullptr);
}

void Stream::set_timing(bool on) {
  if (on && !device_.info().timestamps) return;
  if (on && !queries_) {
    auto qi = make_struct<VkQueryPoolCreateInfo>(VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = kMaxQueries;
    check(vkCreateQueryPool(device_.handle(), &qi, nullptr, &queries_), "vkCreateQueryPool");
  }
  timing_ = on;
}

double Stream::dispatch_budget_flops() const {
  return std::max(1e6, device_.flops_per_second() * device_.options().max_submit_seconds);
}

void Stream::begin_if_needed() {
  if (recording_) return;
  auto bi = make_struct<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  if (timing_ && queries_) vkCmdResetQueryPool(cmd_, queries_, 0, kMaxQueries);
  query_count_ = 0;
  query_names_.clear();
  recording_ = true;
}

VkDescriptorSet Stream::allocate_set(VkDescriptorSetLayout layout) {
  VkDevice dev = device_.handle();
  for (;;) {
    if (pool_index_ == pools_.size()) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBindings};
      auto pi = make_struct<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
      pi.maxSets = kSetsPerPool;
      pi.poolSizeCount = 1;
      pi.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(vkCreateDescriptorPool(dev, &pi, nullptr, &pool), "vkCreateDescriptorPool");
      pools_.push_back(pool);
    }
    auto ai = make_struct<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
    ai.descriptorPool = pools_[pool_index_];
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    const VkResult r = vkAllocateDescriptorSets(dev, &ai, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) check(r, "vkAllocateDescriptorSets");
    ++pool_index_;
  }
}

void Stream::barrier() {
  auto mb = make_struct<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(
      cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0,
      nullptr, 0, nullptr);
}

void Stream::dispatch(const KernelLayout& kernel, const std::vector<uint32_t>& spec, const std::vector<View>& bindings,
                      const void* push, uint32_t gx, uint32_t gy, uint32_t gz, double work_flops) {
  if (device_.lost()) throw VulkanError("the Vulkan device was lost", VK_ERROR_DEVICE_LOST);
  if (bindings.size() != kernel.bindings)
    throw VulkanError(std::string(kernel.name) + ": wrong number of bindings", VK_ERROR_INITIALIZATION_FAILED);
  if (gx == 0 || gy == 0 || gz == 0) return;
  const DeviceInfo& info = device_.info();
  if (gx > info.max_workgroup_count[0] || gy > info.max_workgroup_count[1] || gz > info.max_workgroup_count[2])
    throw VulkanError(std::string(kernel.name) + ": dispatch of " + std::to_string(gx) + "x" + std::to_string(gy) +
                          "x" + std::to_string(gz) + " workgroups exceeds the device limit",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  // Close the current submission before it grows past the time budget.
  if (recording_ && recorded_flops_ > 0 && recorded_flops_ + work_flops > dispatch_budget_flops()) flush();
  if (recording_ && timing_ && query_count_ + 2 > kMaxQueries) flush();

  const Pipeline& p = device_.pipelines().get(kernel, spec);
  begin_if_needed();
  const VkDescriptorSet set = allocate_set(p.set_layout);
  VkDescriptorBufferInfo infos[kMaxBindings];
  VkWriteDescriptorSet writes[kMaxBindings];
  const View dummy = view_of(dummy_);
  for (uint32_t i = 0; i < kernel.bindings; ++i) {
    const View& v = bindings[i].empty() ? dummy : bindings[i];
    if (v.bytes > device_.max_binding_bytes())
      throw VulkanError(std::string(kernel.name) + ": a binding of " + std::to_string(v.bytes) +
                            " bytes exceeds maxStorageBufferRange (" + std::to_string(device_.max_binding_bytes()) +
                            ")",
                        VK_ERROR_OUT_OF_DEVICE_MEMORY);
    infos[i] = {v.buffer, v.offset, v.bytes};
    writes[i] = make_struct<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_.handle(), kernel.bindings, writes, 0, nullptr);

  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  if (kernel.push_bytes) vkCmdPushConstants(cmd_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kernel.push_bytes, push);
  const bool timed = timing_ && queries_;
  if (timed) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, query_count_++);
  vkCmdDispatch(cmd_, gx, gy, gz);
  if (timed) {
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, query_count_++);
    query_names_.push_back(kernel.name);
  }
  barrier();
  recorded_flops_ += work_flops;
  ++recorded_dispatches_;
}

void Stream::release_after_flush(Buffer&& b) {
  if (!recording_) return;  // nothing recorded can still use it
  in_flight_.push_back(std::move(b));
}

void Stream::flush() {
  if (!recording_) return;
  recording_ = false;
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  const double t0 = now_s();
  device_.submit_and_wait(cmd_, fence_, "vkQueueSubmit");
  in_flight_.clear();
  const double took = now_s() - t0;
  device_.record_throughput(recorded_flops_, took);
  longest_submission_ = std::max(longest_submission_, took);
  ++submissions_;
  if (query_count_ > 0) {
    std::vector<uint64_t> ticks(query_count_);
    if (vkGetQueryPoolResults(device_.handle(), queries_, 0, query_count_, ticks.size() * 8, ticks.data(), 8,
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
      const double period = double(device_.info().timestamp_period_ns) * 1e-9;
      for (size_t i = 0; i < query_names_.size(); ++i) {
        KernelTime& t = times_[query_names_[i]];
        t.seconds += double(ticks[2 * i + 1] - ticks[2 * i]) * period;
        ++t.dispatches;
      }
    }
  }
  query_count_ = 0;
  query_names_.clear();
  recorded_flops_ = 0;
  recorded_dispatches_ = 0;
  for (VkDescriptorPool p : pools_) vkResetDescriptorPool(device_.handle(), p, 0);
  pool_index_ = 0;
}

void Stream::copy_via_staging(VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t bytes) {
  begin_if_needed();
  VkBufferCopy region{src_off, dst_off, bytes};
  vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
  barrier();
  flush();
}

void Stream::upload(const Buffer& dst, const void* src, uint64_t bytes, uint64_t dst_offset) {
  if (bytes == 0) return;
  if (dst_offset + bytes > dst.bytes()) throw VulkanError("upload past the end of a buffer", VK_ERROR_UNKNOWN);
  flush();
  if (dst.mapped()) {
    std::memcpy(dst.mapped() + dst_offset, src, bytes);
    return;
  }
  const uint64_t chunk = std::min(bytes, kStagingChunk);
  Buffer staging(device_.allocator(), chunk, MemoryKind::Staging);
  for (uint64_t done = 0; done < bytes; done += chunk) {
    const uint64_t n = std::min(chunk, bytes - done);
    std::memcpy(staging.mapped(), static_cast<const uint8_t*>(src) + done, n);
    copy_via_staging(staging.allocation().buffer, staging.allocation().offset, dst.allocation().buffer,
                     dst.allocation().offset + dst_offset + done, n);
  }
}

void Stream::download(const Buffer& src, void* dst, uint64_t bytes, uint64_t src_offset) {
  if (bytes == 0) return;
  if (src_offset + bytes > src.bytes()) throw VulkanError("download past the end of a buffer", VK_ERROR_UNKNOWN);
  flush();
  if (src.mapped()) {
    std::memcpy(dst, src.mapped() + src_offset, bytes);
    return;
  }
  const uint64_t chunk = std::min(bytes, kStagingChunk);
  Buffer staging(device_.allocator(), chunk, MemoryKind::Staging);
  for (uint64_t done = 0; done < bytes; done += chunk) {
    const uint64_t n = std::min(chunk, bytes - done);
    copy_via_staging(src.allocation().buffer, src.allocation().offset + src_offset + done, staging.allocation().buffer,
                     staging.allocation().offset, n);
    std::memcpy(static_cast<uint8_t*>(dst) + done, staging.mapped(), n);
  }
}

}  // namespace bb::vk
