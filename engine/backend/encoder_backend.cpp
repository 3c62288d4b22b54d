#include "engine/backend/encoder_backend.h"

#include <cstdlib>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/backend/vulkan/vulkan_encoder.h"

namespace bb::backend {

EncoderBackend::EncoderBackend() = default;
EncoderBackend::~EncoderBackend() = default;

EncoderResult EncoderBackend::run(const Selection& sel, const BigBirdEncoderWeights& weights, const ModelConfig& config,
                                  const EncoderPass& pass, std::string* used) {
  if (sel.kind == Kind::Cpu) {
    if (used) *used = "cpu";
    return run_bigbird_encoder(weights, config, pass);
  }
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = to_string(sel.kind) + "|" + sel.device;
    if (key != vulkan_key_) {
      vulkan_.reset();
      disabled_reason_.clear();
      vulkan_key_ = key;
    }
    if (disabled_reason_.empty()) {
      std::shared_ptr<vk::Device> device;
      try {
        if (!vulkan_) {
          vk::DeviceOptions o = vk::DeviceOptions::from_environment();
          if (!sel.device.empty()) o.device = sel.device;
          // auto means "a GPU if there is one": a CPU implementation (lavapipe) is slower than the
          // engine's own CPU path, so only an explicit --backend vulkan uses it.
          o.allow_cpu_device = sel.kind == Kind::Vulkan;
          device = vk::acquire_device(o, &reason);
          if (!device) throw vk::VulkanError(reason, VK_ERROR_INITIALIZATION_FAILED);
          vk::VulkanEncoderOptions eo;
          const char* fp16 = std::getenv("BIGBIRD_VK_FP16");
          eo.fp16_weights = fp16 && std::string(fp16) == "1";
          vulkan_ = std::make_unique<vk::VulkanEncoder>(device, weights, config, eo);
        }
        EncoderResult r = vulkan_->run(pass);
        if (used) *used = "vulkan (" + vulkan_->device()->info().name + ")";
        return r;
      } catch (const vk::VulkanError& e) {
        const std::shared_ptr<vk::Device>& d = vulkan_ ? vulkan_->device() : device;
        reason = e.what();
        if (d && reason.rfind(d->info().name, 0) != 0) reason = d->info().name + ": " + reason;
        if (d && (d->lost() || e.result() == VK_ERROR_DEVICE_LOST)) vk::report_device_failure(d, reason);
        vulkan_.reset();
        disabled_reason_ = reason;
        notice(std::string(sel.kind == Kind::Auto ? "auto backend" : "vulkan backend") + " unavailable (" + reason +
               "); running on the CPU");
      }
    } else {
      reason = disabled_reason_;
    }
  }
  if (used) *used = "cpu (fallback: " + reason + ")";
  return run_bigbird_encoder(weights, config, pass);
}

}  // namespace bb::backend
