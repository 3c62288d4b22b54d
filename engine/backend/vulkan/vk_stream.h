#pragma once
// Records compute dispatches into command buffers and submits them in pieces: a submission is
// closed once its estimated work reaches max_submit_seconds at the measured throughput, so no
// single vkQueueSubmit runs into a driver watchdog (TDR ~2 s). Ops split their own dispatches to
// dispatch_budget_flops(). Every dispatch is followed by a memory barrier (kernels run in order).
// Optional timestamp queries give per-kernel GPU times (bench / profiling).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_loader.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/backend/vulkan/vk_pipelines.h"

namespace bb::vk {

class Device;

// A bound range of device memory. Kernels address elements inside it with push-constant offsets.
struct View {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0, bytes = 0;
  bool empty() const { return buffer == VK_NULL_HANDLE; }
};
View view_of(const Buffer& b);
View view_of_or_empty(const Buffer& b);  // empty view for an empty buffer (optional bindings)

class Stream {
 public:
  explicit Stream(Device& device);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Device& device() { return device_; }
  const Device& device() const { return device_; }

  // Empty views in `bindings` are replaced by a small dummy buffer (the kernel ignores them).
  void dispatch(const KernelLayout& kernel, const std::vector<uint32_t>& spec, const std::vector<View>& bindings,
                const void* push, uint32_t gx, uint32_t gy, uint32_t gz, double work_flops);
  void flush();  // submit what was recorded and wait for it
  // Keeps a temporary buffer (an op's scratch) alive until the work recorded so far has run.
  void release_after_flush(Buffer&& b);

  double dispatch_budget_flops() const;

  // Host <-> device copies. Both flush first, so they see (and are seen by) work in program order.
  void upload(const Buffer& dst, const void* src, uint64_t bytes, uint64_t dst_offset = 0);
  void download(const Buffer& src, void* dst, uint64_t bytes, uint64_t src_offset = 0);

  struct KernelTime {
    double seconds = 0;
    long dispatches = 0;
  };
  void set_timing(bool on);  // needs timestampComputeAndGraphics; ignored otherwise
  const std::map<std::string, KernelTime>& kernel_times() const { return times_; }
  int submissions() const { return submissions_; }
  double longest_submission_seconds() const { return longest_submission_; }

 private:
  void begin_if_needed();
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);
  void barrier();
  void copy_via_staging(VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t bytes);

  Device& device_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool recording_ = false;
  double recorded_flops_ = 0;
  int recorded_dispatches_ = 0;
  std::vector<VkDescriptorPool> pools_;
  size_t pool_index_ = 0;
  Buffer dummy_;
  bool timing_ = false;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t query_count_ = 0;
  std::vector<std::string> query_names_;
  std::map<std::string, KernelTime> times_;
  std::vector<Buffer> in_flight_;  // scratch buffers of recorded work
  int submissions_ = 0;
  double longest_submission_ = 0;
};

}  // namespace bb::vk
